"""Wiring only: read → map → validate → find existing → plan → execute → outcomes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from pydantic import BaseModel

from sync.checkpoint import CREATE, SENDING, Binding, Checkpoint
from sync.errors import InputError
from sync.mapping import BoundMapping, MappingSpec, bind_mapping, identity_mapping, load_mapping
from sync.models import Action, Candidate, Outcome, PlanEntry, RunSummary, Status, Strategy
from sync.plan import RemoteIndex, build_plan
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.reader import Table, read_table
from sync.remote import RemoteReader
from sync.retry import call_with_retries
from sync.settings import Settings
from sync.validate import Validated, validate_rows
from sync.worker import Job, Worker

log = structlog.get_logger(__name__)

Progress = Callable[[str, int, int | None], None]

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


@dataclass(slots=True)
class Prepared:
    """The input read, mapped and validated: everything that needs no network."""

    table: Table
    mapping: BoundMapping
    validated: Validated

    def candidates_by_row(self) -> dict[int, Candidate]:
        return {candidate.row: candidate for candidate in self.validated.candidates}


@dataclass(slots=True)
class RunResult:
    """Every row's outcome, in row order, and the figures of the run."""

    outcomes: list[Outcome]
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)


def default_mapping_path(provider: str) -> Path | None:
    path = MAPPINGS_DIR / f"{provider}.toml"
    return path if path.exists() else None


def prepare(settings: Settings) -> Prepared:
    """Read, map and validate the input; a file problem raises before anything is sent.

    Raises:
        InputError: the file, its encoding, its header or the mapping cannot be used.
    """
    provider = settings.provider
    table = read_table(settings.input, encoding=settings.encoding)
    known = provider.known_fields()
    spec = _mapping_spec(settings, table, known)
    unknown_targets = sorted({rule.target for rule in spec.rules} - set(known))
    if unknown_targets:
        raise InputError(
            f"mapping {spec.source} targets field(s) {provider.name} does not have: "
            + ", ".join(unknown_targets),
            hint=f"{provider.name}'s fields are: {', '.join(known)}",
        )
    mapping = bind_mapping(spec, table.columns, known)
    schema = settings.schema
    if settings.invite:
        _warn_unsent_fields(mapping, schema)
    validated = validate_rows(table.rows, mapping, schema, settings.tenant_field)
    if not table.rows:
        log.warning("the input has a header but no rows", input=str(settings.input))
    return Prepared(table=table, mapping=mapping, validated=validated)


def _warn_unsent_fields(mapping: BoundMapping, schema: type[BaseModel]) -> None:
    """Say once which mapped fields an invitation leaves out (they are dropped, not refused)."""
    top_level = {target.split(".")[0] for target in mapping.targets}
    left_out = sorted(top_level - set(schema.model_fields))
    if left_out:
        log.warning("an invitation does not carry these fields; not sent", fields=left_out)


def _mapping_spec(settings: Settings, table: Table, known: list[str]) -> MappingSpec:
    if settings.mapping is not None:
        return load_mapping(settings.mapping)
    # A file whose header already is the provider's field names needs no mapping.
    if "email" in table.columns and set(table.columns) <= set(known):
        return identity_mapping()
    default = default_mapping_path(settings.provider.name)
    return load_mapping(default) if default else identity_mapping()


def connect(settings: Settings) -> ProviderHTTP:
    """The rate-limited HTTP client for the settings' provider account."""
    provider = settings.provider
    limiter = RateLimiter(settings.rate_limit)
    return ProviderHTTP(
        provider_name=provider.name,
        base_url=settings.base_url,
        headers=provider.auth_headers(settings.api_key.get_secret_value()),
        limiter=limiter,
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        max_retry_after=settings.retry.max_retry_after,
        max_connections=settings.concurrency,
        timeout=settings.timeout,
    )


async def _existing(
    settings: Settings, http: ProviderHTTP, candidates: list[Candidate], progress: Progress | None
) -> tuple[RemoteIndex, Strategy]:
    """Learn which candidates exist, the cheaper way; candidates are first-of-their-key rows."""
    reader = RemoteReader(settings.provider, http, settings.retry, settings.concurrency, progress)
    strategy, existing = await reader.choose(len(candidates))
    log.info("existing partners", strategy=strategy.name, reason=strategy.reason, count=existing)
    if strategy.name == "scan":
        return await reader.scan(existing), strategy
    if strategy.name == "lookup":
        return await reader.look_up(candidates), strategy
    return RemoteIndex(), strategy


def _distinct(candidates: list[Candidate]) -> list[Candidate]:
    """The first row of each email / tenant id: later ones are duplicates and need no lookup."""
    seen_email: set[str] = set()
    seen_tenant: set[str] = set()
    firsts = []
    for candidate in candidates:
        if candidate.key in seen_email or (
            candidate.tenant_id and candidate.tenant_id in seen_tenant
        ):
            continue
        seen_email.add(candidate.key)
        if candidate.tenant_id:
            seen_tenant.add(candidate.tenant_id)
        firsts.append(candidate)
    return firsts


async def make_plan(
    settings: Settings, prepared: Prepared, http: ProviderHTTP, progress: Progress | None = None
) -> tuple[list[PlanEntry], Strategy]:
    candidates = prepared.validated.candidates
    index, strategy = await _existing(settings, http, _distinct(candidates), progress)
    entries = build_plan(candidates, prepared.validated.invalid, index, settings.tenant_label)
    return entries, strategy


async def probe(settings: Settings, http: ProviderHTTP) -> None:
    """Let the provider learn what the account's API can do, retrying transient failures."""
    await call_with_retries(
        lambda: settings.provider.probe(http), policy=settings.retry, write=False
    )


async def run_plan(settings: Settings, progress: Progress | None = None) -> RunResult:
    """`partner-sync plan`: classify every row; only reads reach the provider."""
    started = time.monotonic()
    prepared = prepare(settings)
    http = connect(settings)
    try:
        await probe(settings, http)
        entries, strategy = await make_plan(settings, prepared, http, progress)
    finally:
        await http.aclose()
    outcomes = [_plan_outcome(entry, settings.mode) for entry in entries]
    summary = RunSummary(
        counts=_count(outcomes),
        calls=http.calls,
        elapsed=time.monotonic() - started,
        strategy=strategy,
    )
    return RunResult(outcomes=outcomes, summary=summary)


async def run_sync(
    settings: Settings, checkpoint: Checkpoint, progress: Progress | None = None
) -> RunResult:
    """`partner-sync sync`: plan (or resume the checkpoint's plan) and create what is missing.

    The checkpoint holds the plan, so a resumed run neither re-lists nor re-plans: it looks up
    the rows left `sending` and sends the rest.
    """
    started = time.monotonic()
    prepared = prepare(settings)
    binding = Binding(
        input_hash=prepared.table.content_hash,
        mapping=prepared.mapping.digest,
        provider=settings.provider.name,
        base_url=settings.base_url,
        account=settings.account,
        mode=settings.mode,
    )
    if settings.restart:
        checkpoint.reset()
    checkpoint.check_binding(binding)
    resumed = checkpoint.has_plan
    http = connect(settings)
    worker = Worker(
        settings.provider,
        http,
        checkpoint,
        settings.retry,
        concurrency=settings.concurrency,
        invite=settings.invite,
        tenant_label=settings.tenant_label,
        progress=progress,
    )
    try:
        # Also on resume: the rows left `sending` are looked up, and lookups may need it.
        await probe(settings, http)
        if resumed:
            strategy = checkpoint.strategy or Strategy("resume", "resumed", 0)
            log.info("resuming from checkpoint", checkpoint=str(checkpoint.path))
        else:
            entries, strategy = await make_plan(settings, prepared, http, progress)
            checkpoint.save_plan(binding, entries, strategy)
            log.info("plan saved", checkpoint=str(checkpoint.path), **_count_entries(entries))
        by_row = prepared.candidates_by_row()
        jobs = [
            Job(candidate=by_row[row], unsure=state != CREATE)
            for row, state in checkpoint.rows_to_send()
            if row in by_row
        ]
        if jobs:
            log.info(
                "sending partners",
                rows=len(jobs),
                mode=settings.mode,
                rate_limit=settings.rate_limit,
            )
            await worker.run(jobs)
        checkpoint.mark_finished()
    finally:
        await http.aclose()
        outcomes = _journal_outcomes(checkpoint, prepared)
    summary = RunSummary(
        counts=_count(outcomes),
        calls=http.calls,
        elapsed=time.monotonic() - started,
        strategy=strategy,
        resumed=resumed,
        create_seconds=worker.seconds,
    )
    return RunResult(outcomes=outcomes, summary=summary)


def _journal_outcomes(checkpoint: Checkpoint, prepared: Prepared) -> list[Outcome]:
    """One outcome per input row from the journal; rows it does not settle are `pending`."""
    journal = checkpoint.journal()
    by_row = prepared.candidates_by_row()
    invalid_email = {outcome.row: outcome.email for outcome in prepared.validated.invalid}
    outcomes = []
    for row in prepared.table.rows:
        candidate = by_row.get(row.number)
        email = candidate.email if candidate else invalid_email.get(row.number)
        tenant = candidate.tenant_id if candidate else None
        state, remote_id, message, field_name = journal.get(
            row.number, (CREATE, None, "not in the checkpoint", None)
        )
        if state in (CREATE, SENDING):
            status, message = Status.PENDING, message or "not finished; run the same command again"
        else:
            status = Status(state)
        outcomes.append(
            Outcome(
                row=row.number,
                status=status,
                remote_id=remote_id,
                message=message,
                field=field_name,
                email=email,
                tenant_id=tenant,
            )
        )
    return outcomes


def _plan_outcome(entry: PlanEntry, mode: str) -> Outcome:
    status = Status.CREATE if entry.action is Action.CREATE else Status(entry.action.value)
    would = "would be invited" if mode == "invite" else "would be created"
    return Outcome(
        row=entry.row,
        status=status,
        remote_id=entry.remote_id,
        message=entry.message or (would if entry.action is Action.CREATE else ""),
        field=entry.field,
        email=entry.email,
        tenant_id=entry.tenant_id,
    )


def _count(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(outcome.status.value for outcome in outcomes)


def _count_entries(entries: list[PlanEntry]) -> dict[str, int]:
    return dict(Counter(entry.action.value for entry in entries))
