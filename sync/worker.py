"""Executes the plan's creates (or invitations): async workers under the shared budget,
journaling each row.

Exactly once: a row is journaled `sending` before its create leaves, and a create whose outcome
is unknown (timeout, dropped connection, 5xx, unreadable answer) is never resent before the
partner has been looked up. Only a create that provably never reached the provider is resent
blindly (retry.py), or one the provider would refuse as a duplicate (see `Provider.lookup`).
A create the provider accepted (2xx) without naming the partner is never resent at all: it is
looked up, now and by every later run, until the partner shows.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from sync.checkpoint import CREATE, LOOK_UP, Checkpoint
from sync.codes import code_not_kept, sent_code
from sync.earlier_runs import payload_digest
from sync.errors import AcceptedWithoutPartner, RejectedError, RetryableProviderError
from sync.index import ExistingPartners
from sync.models import Action, Candidate, Outcome, RemotePartner, Status, email_key
from sync.plan import decide
from sync.progress import Progress
from sync.providers.base import Provider
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, Sleep, backoff, call_with_retries

log = structlog.get_logger(__name__)

# Clocks of this machine and the provider's may disagree by this much without consequence.
CLOCK_TOLERANCE = 300.0
# Outcomes that refuse a row for cause: the same row is not sent again by a later job.
_REFUSED = frozenset({Status.INVALID, Status.CONFLICT})


@dataclass(frozen=True, slots=True)
class Job:
    """One row to create; `unsure` when an earlier attempt may have reached the provider,
    `look_up_only` when an earlier attempt was accepted without the answer naming the partner."""

    candidate: Candidate
    unsure: bool
    look_up_only: bool = False


def jobs_to_send(
    to_send: Sequence[tuple[int, str]], candidates: Mapping[int, Candidate]
) -> list[Job]:
    """The jobs of the journal's rows still to send (`Checkpoint.rows_to_send`): only a row in
    state `create` is sent blindly; any other (left `sending`, a transient failure) is looked
    up first, and one whose create was accepted without naming the partner is only looked up."""
    return [
        Job(candidate=candidates[row], unsure=state != CREATE, look_up_only=state == LOOK_UP)
        for row, state in to_send
        if row in candidates
    ]


class Worker:
    """Creates partners for a list of jobs; every outcome goes to the checkpoint at once."""

    def __init__(
        self,
        provider: Provider,
        http: ProviderHTTP,
        checkpoint: Checkpoint,
        policy: RetryPolicy,
        *,
        concurrency: int,
        invite: bool = False,
        tenant_label: str = "tenantId",
        progress: Progress | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._provider = provider
        self._deliver = provider.invite if invite else provider.create
        self._done = Status.INVITED if invite else Status.CREATED
        self._tenant_label = tenant_label
        self._http = http
        self._checkpoint = checkpoint
        self._policy = policy
        self._concurrency = max(concurrency, 1)
        self._progress = progress
        self._sleep = sleep
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0

    async def run(self, jobs: Sequence[Job]) -> None:
        """Work through `jobs`; a fatal provider error cancels the rest and propagates."""
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        total = len(jobs)
        started = time.monotonic()

        async def work() -> None:
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcome = await self._process(job)
                self.counts[outcome.status.value] += 1
                if self._progress:
                    self._progress("creating", sum(self.counts.values()), total)

        workers = min(self._concurrency, total)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(work())
        except* Exception as group_error:
            # Surface the first real error (a fatal provider refusal) rather than the group.
            raise group_error.exceptions[0] from None
        finally:
            self.seconds = time.monotonic() - started

    async def _process(self, job: Job) -> Outcome:
        """Deliver one job and record its outcome; a lookup that fails ends the row `failed`."""
        try:
            return await self._attempts(job)
        except _LookupFailed as failure:
            message = f"outcome unknown and the lookup failed ({failure}); the next run looks again"
            return self._record(
                job.candidate, _outcome(job.candidate, Status.FAILED, message), retryable=True
            )

    async def _attempts(self, job: Job) -> Outcome:
        candidate = job.candidate
        if job.look_up_only:
            return await self._look_up_only(candidate, "an earlier run's create was accepted")
        unsure = job.unsure  # an earlier attempt of ours may have reached the provider
        if unsure:
            found = await self._reconcile(candidate, unsure=True)
            if found is not None:
                return self._record(candidate, found)
        for attempt in range(1, self._policy.attempts + 1):
            self._checkpoint.mark_sending(candidate.row)
            try:
                outcome = await self._send(candidate, unsure=unsure)
            except AcceptedWithoutPartner as error:
                return await self._look_up_only(candidate, str(error))
            except RetryableProviderError as error:
                if not error.reached:
                    # Retries of a request that never arrived are used up: safe to try later.
                    return self._record(candidate, _failed(candidate, error), retryable=True)
                unsure = True
                log.warning(
                    "create outcome unknown; looking up", row=candidate.row, error=str(error)
                )
                found = await self._reconcile(candidate, unsure=True)
                if found is not None:
                    return self._record(candidate, found)
                await self._sleep(backoff(self._policy, attempt))
                continue
            return self._record(candidate, outcome)
        message = f"gave up after {self._policy.attempts} attempts; the next run tries again"
        return self._record(candidate, _outcome(candidate, Status.FAILED, message), retryable=True)

    async def _look_up_only(self, candidate: Candidate, accepted: str) -> Outcome:
        """A create the provider accepted without naming the partner: the partner is looked for,
        and, when not found, the row fails without ever being sent again."""
        try:
            found = await self._reconcile(candidate, unsure=True)
            why = "a lookup does not find the partner"
        except _LookupFailed as failure:
            found, why = None, f"the lookup failed ({failure})"
        if found is not None:
            return self._record(candidate, found)
        message = (
            f"the provider accepted the create but named no partner ({accepted}); {why}. "
            "It is not sent again: later runs look it up"
        )
        outcome = _outcome(candidate, Status.FAILED, message)
        return self._record(candidate, outcome, look_up_only=True)

    async def _send(self, candidate: Candidate, *, unsure: bool) -> Outcome:
        """One create (retried only while it never reached the provider), judged."""
        sent_at = time.time()
        try:
            returned = await call_with_retries(
                lambda: self._deliver(self._http, candidate.payload),
                policy=self._policy,
                write=True,
                sleep=self._sleep,
            )
        except RejectedError as error:
            return await self._refused(candidate, error, unsure=unsure)
        problem = returned_partner_problem(candidate, returned)
        if problem:
            return _outcome(candidate, Status.CONFLICT, problem, remote_id=returned.id)
        if existed_before(returned, sent_at):
            message = f"already there: the provider returned its record from {returned.created_at}"
            return _outcome(candidate, Status.EXISTS, message, remote_id=returned.id)
        code = sent_code(self._provider, candidate.payload)
        changed = code_not_kept(self._provider, code, returned) if code else None
        if changed:
            log.warning("referral code not kept", row=candidate.row, code=code)
            field = self._provider.code_field
            return _outcome(candidate, self._done, changed, remote_id=returned.id, field=field)
        return _outcome(candidate, self._done, "", remote_id=returned.id or None)

    async def _refused(
        self, candidate: Candidate, error: RejectedError, *, unsure: bool
    ) -> Outcome:
        """A refused create: the provider's verdict, or, for a taken key, what a lookup finds."""
        resolution = self._provider.resolve_rejection(error, candidate)
        if resolution.status is not None:
            return _outcome(
                candidate, resolution.status, resolution.message, field=resolution.field
            )
        found = await self._reconcile(candidate, unsure=unsure)
        if found is not None:
            return found
        return self._settled(
            candidate, resolution.if_not_found, resolution.message, resolution.field, unsure=unsure
        )

    async def _reconcile(self, candidate: Candidate, *, unsure: bool) -> Outcome | None:
        """The partner's state at the provider, or None if the lookup finds it absent."""
        try:
            found = await call_with_retries(
                lambda: self._provider.lookup(self._http, candidate),
                policy=self._policy,
                write=False,
                sleep=self._sleep,
            )
        except RetryableProviderError as error:
            raise _LookupFailed(str(error)) from error
        # What the lookup found is decided by the plan's own rule, with the plan's messages.
        by_email, by_tenant = ExistingPartners.of(found).matching(candidate)
        entry = decide(candidate, by_email, by_tenant, self._tenant_label)
        if entry.action is Action.CREATE:
            return None
        status = Status.EXISTS if entry.action is Action.EXISTS else Status.CONFLICT
        return self._settled(
            candidate, status, entry.message, entry.field, unsure=unsure, remote_id=entry.remote_id
        )

    def _settled(
        self,
        candidate: Candidate,
        status: Status,
        message: str,
        field: str | None,
        *,
        unsure: bool,
        remote_id: str | None = None,
    ) -> Outcome:
        """The row's outcome; a partner that exists after an attempt of ours may have landed is
        ours: the plan saw no such partner, so that attempt made it."""
        if status is Status.EXISTS:
            if unsure:
                message = f"an earlier attempt landed ({message})"
                return _outcome(candidate, self._done, message, remote_id=remote_id)
            field = None
        return _outcome(candidate, status, message, remote_id=remote_id, field=field)

    def _record(
        self,
        candidate: Candidate,
        outcome: Outcome,
        *,
        retryable: bool = False,
        look_up_only: bool = False,
    ) -> Outcome:
        """Journal the row's outcome. A refusal for cause is remembered by content: the same row
        is never sent again, a corrected one is."""
        refusal = payload_digest(candidate.payload) if outcome.status in _REFUSED else None
        self._checkpoint.mark_done(
            outcome, retryable=retryable, refusal=refusal, look_up_only=look_up_only
        )
        log.debug("row done", row=outcome.row, status=outcome.status.value)
        return outcome


class _LookupFailed(Exception):
    """The lookup that should settle an unknown outcome failed as well."""


def _outcome(
    candidate: Candidate,
    status: Status,
    message: str,
    *,
    remote_id: str | None = None,
    field: str | None = None,
) -> Outcome:
    return Outcome(
        row=candidate.row,
        status=status,
        remote_id=remote_id,
        message=message,
        field=field,
        email=candidate.email,
        tenant_id=candidate.tenant_id,
    )


def _failed(candidate: Candidate, error: Exception) -> Outcome:
    return _outcome(candidate, Status.FAILED, f"{error}; the next run tries again")


def returned_partner_problem(candidate: Candidate, returned: RemotePartner) -> str | None:
    """Why a partner the provider returned from a create is not the one we sent, if it is not.

    Dub's POST is an upsert: given a tenantId that belongs to partner A and the email of B, it
    answers 201 with partner A. That is a conflict, not a success.
    """
    if returned.key is not None and returned.key != email_key(candidate.email):
        return (
            f"the provider returned another partner, {returned.describe()}, instead of creating one"
        )
    if candidate.tenant_id and returned.tenant_id and returned.tenant_id != candidate.tenant_id:
        return f"the provider returned {returned.describe()}, whose tenantId differs"
    return None


def existed_before(returned: RemotePartner, sent_at: float) -> bool:
    """Whether a partner a create returned is older than the create (an upsert that found it).

    Dub's POST answers 201 with the existing partner when the email is already enrolled; its
    `createdAt` tells the two apart. Unknown or unparsable times count as new.
    """
    if not returned.created_at:
        return False
    try:
        created = datetime.fromisoformat(returned.created_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.timestamp() < sent_at - CLOCK_TOLERANCE
