"""Wiring only: read → map → validate → find existing → plan → execute → outcomes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from sync.checkpoint import CREATE, SENDING, Binding, Checkpoint
from sync.columnar.existing import ExistingPartners
from sync.columnar.mapping import ROW
from sync.columnar.plan import Distinct, PlanFrame, match, split_keys
from sync.columnar.validate import EMAIL, TENANT, ColumnValidated, validate_frame
from sync.errors import InputError
from sync.mapping import BoundMapping, MappingSpec, bind_mapping, identity_mapping, load_mapping
from sync.models import Action, Candidate, Outcome, PlanEntry, RunSummary, Status, Strategy
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.reader import Table, read_table
from sync.remote import RemoteReader, choose_strategy
from sync.settings import Settings
from sync.worker import Job, Worker

log = structlog.get_logger(__name__)

Progress = Callable[[str, int, int | None], None]

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


@dataclass(slots=True)
class Prepared:
    """The input read, mapped and validated: everything that needs no network."""

    table: Table
    mapping: BoundMapping
    validated: ColumnValidated

    def candidates_by_row(self, rows: list[int]) -> dict[int, Candidate]:
        return {candidate.row: candidate for candidate in self.validated.candidates(rows)}


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
    unknown_targets = sorted({rule.target for rule in spec.rules} - set(known) - {"linkProps"})
    if unknown_targets:
        raise InputError(
            f"mapping {spec.source} targets field(s) {provider.name} does not have: "
            + ", ".join(unknown_targets),
            hint=f"{provider.name}'s fields are: {', '.join(known)}",
        )
    mapping = bind_mapping(spec, table.columns, known)
    validated = validate_frame(table.frame, mapping, provider.schema, provider.tenant_field)
    if validated.checked_one_by_one:
        log.debug("rows validated one by one", rows=validated.checked_one_by_one)
    if not table.height:
        log.warning("the input has a header but no rows", input=str(settings.input))
    return Prepared(table=table, mapping=mapping, validated=validated)


def _mapping_spec(settings: Settings, table: Table, known: list[str]) -> MappingSpec:
    if settings.mapping is not None:
        return load_mapping(settings.mapping)
    # A file whose header already is the provider's field names needs no mapping.
    if "email" in table.columns and set(table.columns) <= set(known):
        return identity_mapping()
    default = default_mapping_path(settings.provider.name)
    return load_mapping(default) if default else identity_mapping()


def _connect(settings: Settings) -> ProviderHTTP:
    provider = settings.provider
    limiter = RateLimiter(
        settings.rate_limit,
        adaptive=not settings.rate_limit_known,
        ceiling=settings.rate_ceiling,
    )
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
    settings: Settings, http: ProviderHTTP, distinct: Distinct, progress: Progress | None
) -> tuple[ExistingPartners, Strategy]:
    """Learn which first-of-their-key rows exist, the cheaper way (later rows are duplicates)."""
    provider = settings.provider
    reader = RemoteReader(provider, http, settings.retry, settings.concurrency, progress)
    rows = distinct.firsts.height
    if not rows:
        return ExistingPartners(), choose_strategy(0, None, provider.page_size, 0)
    existing = await reader.count()
    strategy = choose_strategy(rows, existing, provider.page_size, provider.lookup_calls_per_row)
    log.info("existing partners", strategy=strategy.name, reason=strategy.reason, count=existing)
    if strategy.name == "scan":
        return await reader.scan(existing), strategy
    return await reader.look_up(list(distinct.candidates())), strategy


async def make_plan(
    settings: Settings, prepared: Prepared, http: ProviderHTTP, progress: Progress | None = None
) -> tuple[PlanFrame, Strategy]:
    distinct = split_keys(prepared.validated.keys)
    partners, strategy = await _existing(settings, http, distinct, progress)
    return match(distinct, prepared.validated.invalid, partners), strategy


async def run_plan(settings: Settings, progress: Progress | None = None) -> RunResult:
    """`partner-sync plan`: classify every row; only reads reach the provider."""
    started = time.monotonic()
    prepared = prepare(settings)
    http = _connect(settings)
    try:
        plan, strategy = await make_plan(settings, prepared, http, progress)
    finally:
        await http.aclose()
    outcomes = [_plan_outcome(entry) for entry in plan.entries()]
    summary = RunSummary(
        counts=_count(outcomes),
        calls=http.calls,
        elapsed=time.monotonic() - started,
        strategy=strategy,
        **_budget(http),
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
    )
    if settings.restart:
        checkpoint.reset()
    checkpoint.check_binding(binding)
    resumed = checkpoint.has_plan
    http = _connect(settings)
    worker = Worker(
        settings.provider,
        http,
        checkpoint,
        settings.retry,
        concurrency=settings.concurrency,
        progress=progress,
    )
    try:
        if resumed:
            strategy = checkpoint.strategy or Strategy("resume", "resumed", 0)
            log.info("resuming from checkpoint", checkpoint=str(checkpoint.path))
        else:
            plan, strategy = await make_plan(settings, prepared, http, progress)
            checkpoint.save_plan(binding, plan.entries(), strategy)
            log.info("plan saved", checkpoint=str(checkpoint.path), **plan.counts())
        to_send = checkpoint.rows_to_send()
        by_row = prepared.candidates_by_row([row for row, _ in to_send])
        jobs = [
            Job(candidate=by_row[row], unsure=state != CREATE)
            for row, state in to_send
            if row in by_row
        ]
        if jobs:
            log.info("creating partners", rows=len(jobs), rate_limit=settings.rate_limit)
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
        **_budget(http),
    )
    return RunResult(outcomes=outcomes, summary=summary)


def _budget(http: ProviderHTTP) -> dict[str, Any]:
    """How the rate budget went: 429s, the budget at the end, whether it moved."""
    return {
        "rate_limited": http.rate_limited,
        "budget": http.limiter.per_minute,
        "budget_learned": bool(http.limiter.changes),
    }


def _journal_outcomes(checkpoint: Checkpoint, prepared: Prepared) -> list[Outcome]:
    """One outcome per input row from the journal; rows it does not settle are `pending`."""
    journal = checkpoint.journal()
    keys = prepared.validated.keys
    emails: dict[int, str | None] = dict(zip(keys[ROW], keys[EMAIL], strict=True))
    tenants: dict[int, str | None] = dict(zip(keys[ROW], keys[TENANT], strict=True))
    for outcome in prepared.validated.invalid:
        emails[outcome.row] = outcome.email
    outcomes = []
    for number in range(1, prepared.table.height + 1):
        email, tenant = emails.get(number), tenants.get(number)
        state, remote_id, message, field_name = journal.get(
            number, (CREATE, None, "not in the checkpoint", None)
        )
        if state in (CREATE, SENDING):
            status, message = Status.PENDING, message or "not finished; run the same command again"
        else:
            status = Status(state)
        outcomes.append(
            Outcome(
                row=number,
                status=status,
                remote_id=remote_id,
                message=message,
                field=field_name,
                email=email,
                tenant_id=tenant,
            )
        )
    return outcomes


def _plan_outcome(entry: PlanEntry) -> Outcome:
    status = Status.CREATE if entry.action is Action.CREATE else Status(entry.action.value)
    return Outcome(
        row=entry.row,
        status=status,
        remote_id=entry.remote_id,
        message=entry.message or ("would be created" if entry.action is Action.CREATE else ""),
        field=entry.field,
        email=entry.email,
        tenant_id=entry.tenant_id,
    )


def _count(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(outcome.status.value for outcome in outcomes)
