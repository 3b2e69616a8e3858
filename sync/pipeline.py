"""Wiring only: read → map → validate → find existing → plan → execute → outcomes."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import structlog
from pydantic import BaseModel

from sync.catalog import default_mapping
from sync.checkpoint import CREATE, LOOK_UP, Checkpoint, decisions
from sync.checkpoint_binding import Binding
from sync.codes import check_codes
from sync.earlier_runs import EarlierRuns, Refusals, apply_refusals
from sync.errors import GuardError, InputError
from sync.index import ExistingPartners
from sync.mapping import ROW
from sync.mapping_spec import (
    BoundMapping,
    MappingSpec,
    bind_mapping,
    identity_mapping,
    load_mapping,
)
from sync.migration import STATUS, StatusPolicy, skip_message, skipped_summary
from sync.models import (
    Action,
    Candidate,
    PlanEntry,
    RunSummary,
    Strategy,
)
from sync.neutral import lost_in_migration
from sync.outcomes import Outcomes
from sync.plan import FirstRows, candidates_of, match, needing_check, split_duplicates
from sync.plan_frame import ACTION, FIELD, MESSAGE, REMOTE_ID, PlanFrame
from sync.progress import Progress
from sync.providers.http import ProviderHTTP
from sync.remote import RemoteReader
from sync.retry import call_with_retries
from sync.settings import Settings
from sync.settled import (
    NOT_CLASSIFIED,
    NOT_PLANNED,
    NOT_SENT,
    invalid_only,
    settled_outcomes,
)
from sync.sources.account import connect
from sync.sources.file import read_table
from sync.sources.ragged import with_ragged_keys
from sync.sources.table import Table
from sync.validate import EMAIL, TENANT, ValidatedRows, validate_frame
from sync.worker import Job, Worker

log = structlog.get_logger(__name__)

# A few bad rows in a small file are bad rows; a broken export makes many.
MIN_INVALID_FOR_GUARD = 10


@dataclass(slots=True)
class Prepared:
    """The input read, mapped and validated: everything that needs no network.

    `valid` keeps the valid rows' keys as columns and builds payloads only for the rows asked
    for: a million-row input that is mostly known costs no million dictionaries."""

    table: Table
    mapping: BoundMapping
    valid: ValidatedRows
    # Rows the status policy leaves behind (ROW, their status), left out of `valid`.
    skipped: pl.DataFrame = field(default_factory=lambda: StatusPolicy().skipped_frame())

    def candidates(self, rows: Iterable[int]) -> dict[int, Candidate]:
        """The candidates of these rows (valid ones only), by row number."""
        return {candidate.row: candidate for candidate in self.valid.candidates(rows)}


@dataclass(slots=True)
class RunResult:
    """Every row's outcome, in row order, and the figures of the run."""

    outcomes: Outcomes
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # summary lines: rows skipped, codes taken


def prepare(settings: Settings, progress: Progress | None = None) -> Prepared:
    """Read, map and validate the input; a file problem raises before anything is sent.

    Raises:
        InputError: the file, its encoding, its header or the mapping cannot be used.
    """
    provider = settings.provider
    if progress:
        progress("reading", 0, None)
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
    mapping = bind_mapping(spec, table.columns, known, table.nested)
    schema = settings.schema
    if settings.invite:
        _warn_unsent_fields(mapping, schema)
    valid = _validate(table, mapping, schema, settings.tenant_field, settings.provider.code_field)
    if not table.height:
        log.warning("the input has a header but no rows", input=str(settings.input))
    skipped = _skipped(settings.statuses, table, valid)
    if progress:
        progress("reading", table.height, table.height)
    return Prepared(table=table, mapping=mapping, valid=valid, skipped=skipped)


def _skipped(policy: StatusPolicy, table: Table, valid: ValidatedRows) -> pl.DataFrame:
    """The rows the status policy leaves behind, taken out of `valid`, with their emails."""
    skipped = policy.skipped(table)
    emails = valid.keys.select(ROW, EMAIL)
    valid.without(skipped[ROW])
    return skipped.join(emails, on=ROW, how="left")


def _validate(
    table: Table,
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
    code_field: str | None,
) -> ValidatedRows:
    """Whole columns first, and one by one every row they cannot accept alone (a value or a
    rule they cannot judge, a row the reader could not split: it keeps the keys it shows)."""
    keys, emails = mapping.columns_of([EMAIL, tenant_field]), mapping.columns_of([EMAIL])
    frame = with_ragged_keys(table.frame, table.columns, keys, emails)
    columns = validate_frame(frame, mapping, schema, tenant_field, code_field=code_field)
    if columns.checked_one_by_one:
        log.debug("rows validated one by one", rows=columns.checked_one_by_one)
    return columns


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
    default = default_mapping(settings.provider.name)
    return load_mapping(default) if default else identity_mapping()


async def _existing(
    settings: Settings, http: ProviderHTTP, to_check: pl.DataFrame, progress: Progress | None
) -> tuple[ExistingPartners, Strategy]:
    """Learn which of these rows (first-of-their-key rows' keys) exist, the cheaper way."""
    reader = RemoteReader(settings.provider, http, settings.retry, settings.concurrency, progress)
    strategy, existing = await reader.choose(to_check.height)
    log.info("existing partners", strategy=strategy.name, reason=strategy.reason, count=existing)
    if strategy.name == "scan":
        return await reader.scan(existing), strategy
    if strategy.name == "lookup":
        return await reader.look_up(list(candidates_of(to_check))), strategy
    return ExistingPartners(), strategy


async def make_plan(
    settings: Settings,
    prepared: Prepared,
    http: ProviderHTTP,
    progress: Progress | None = None,
    earlier: EarlierRuns | None = None,
) -> tuple[PlanFrame, Strategy, ExistingPartners]:
    """Classify every row; returns the plan, how existing partners were found, and the index
    of the partners known to exist (what the provider showed, to remember for the next run).

    With what `earlier` runs saw, only rows whose email was never seen are checked at the
    provider, so a nightly run costs calls in proportion to what is new.
    """
    rows = split_duplicates(prepared.valid.keys, settings.tenant_label)
    # Only the first row of each email / tenant id is checked: later ones are duplicates.
    to_check = rows.firsts
    if earlier is not None:
        to_check = needing_check(to_check, earlier.partners)
    existing, strategy = await _existing(settings, http, to_check, progress)
    if earlier is not None:
        existing.add_remembered(earlier.partners)  # after the fresh answers: those win
    refusals = earlier.refusals if earlier is not None else None
    plan = plan_rows(prepared.valid, rows, existing, settings.tenant_label, refusals)
    plan = plan.replaced(skipped_entries(prepared.skipped))
    return plan, strategy, existing


def skipped_entries(skipped: pl.DataFrame) -> list[PlanEntry]:
    """A plan entry for each row the status policy leaves behind."""
    emails = skipped[EMAIL] if EMAIL in skipped.columns else [None] * skipped.height
    return [
        PlanEntry(
            row=row,
            action=Action.SKIPPED,
            message=skip_message(status),
            field="status",
            email=email,
        )
        for row, status, email in zip(skipped[ROW], skipped[STATUS], emails, strict=True)
    ]


def plan_rows(
    valid: ValidatedRows,
    rows: FirstRows,
    existing: ExistingPartners,
    tenant_label: str,
    refusals: Refusals | None = None,
) -> PlanFrame:
    """One plan entry per input row, in row order, from what is known to exist (no I/O)."""
    plan = match(rows, valid.invalid, existing, tenant_label)
    if refusals:
        # Only rows to create can have been refused; their payloads are built to compare.
        creates = list(plan.entries(Action.CREATE))
        payloads = {c.row: c.payload for c in valid.candidates(e.row for e in creates)}
        refused = apply_refusals(creates, refusals, payloads)
        plan = plan.replaced([entry for entry in refused if entry.action is not Action.CREATE])
    return plan


async def probe(settings: Settings, http: ProviderHTTP) -> None:
    """Let the provider learn what the account's API can do, retrying transient failures."""
    await call_with_retries(
        lambda: settings.provider.probe(http), policy=settings.retry, write=False
    )


async def run_plan(
    settings: Settings, progress: Progress | None = None, so_far: SoFar | None = None
) -> RunResult:
    """`partner-sync plan`: classify every row; only reads reach the provider.

    From the moment the input is read, `so_far` holds the result, also when the plan stops
    early: rows it did not classify are `pending`."""
    started = time.monotonic()
    prepared = prepare(settings, progress)
    http = connect(settings)
    plan: PlanFrame | None = None
    strategy: Strategy | None = None
    codes = None
    try:
        await probe(settings, http)
        plan, strategy, existing = await make_plan(settings, prepared, http, progress)
        plan, codes = await _check_codes(
            settings, prepared, http, plan, strategy, existing, ask=True
        )
    finally:
        await http.aclose()
        if plan is not None:
            outcomes = plan_outcomes(plan, settings.mode)
        else:
            outcomes = _prepared_outcomes(prepared, NOT_CLASSIFIED)
        result = _result(settings, prepared, outcomes, http, started, codes, strategy=strategy)
        if so_far is not None:
            so_far.result = result
    return result


@dataclass(slots=True)
class SoFar:
    """What a run has to show for itself, set once its input is read: when it stops early
    (a signal, a refused account, a guard), the CLI still writes the whole report."""

    result: RunResult | None = None


@dataclass(slots=True)
class _SyncStage:
    """How far a sync got: whether the checkpoint holds this job's plan, or a plan that was
    made but not saved (a guard stopped it before anything was sent)."""

    journaled: bool
    strategy: Strategy | None = None
    unsaved_plan: PlanFrame | None = None
    codes: str | None = None

    def outcomes(self, checkpoint: Checkpoint, prepared: Prepared) -> Outcomes:
        numbers, valid, skipped = prepared.table.row_numbers, prepared.valid, prepared.skipped
        if self.journaled:
            return settled_outcomes(checkpoint.reported_rows(), numbers, valid, skipped)
        if self.unsaved_plan is not None:
            decisions = self.unsaved_plan.decisions()
            return settled_outcomes(decisions, numbers, valid, skipped, unsettled=NOT_SENT)
        return _prepared_outcomes(prepared, NOT_PLANNED)


async def run_sync(
    settings: Settings,
    checkpoint: Checkpoint,
    progress: Progress | None = None,
    so_far: SoFar | None = None,
) -> RunResult:
    """`partner-sync sync`: plan (or resume the checkpoint's plan) and create what is missing.

    The checkpoint holds the plan, so a resumed run neither re-lists nor re-plans: it looks up
    the rows left `sending` and sends the rest. From the moment the job is known, `so_far`
    holds the result, also when the run stops early: rows not settled are `pending`.
    """
    started = time.monotonic()
    prepared = prepare(settings, progress)
    binding = Binding(
        input_hash=prepared.table.content_hash,
        mapping=prepared.mapping.digest + settings.statuses.digest,
        provider=settings.provider.name,
        base_url=settings.bound_url or settings.base_url,
        account=settings.account,
        mode=settings.mode,
    )
    if settings.restart:
        checkpoint.reset()
    resumed = checkpoint.check_binding(binding)
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
    stage = _SyncStage(journaled=resumed)
    try:
        await _plan_and_send(settings, checkpoint, prepared, binding, http, worker, stage, progress)
    finally:
        await http.aclose()
        result = _result(
            settings,
            prepared,
            stage.outcomes(checkpoint, prepared),
            http,
            started,
            stage.codes,
            strategy=stage.strategy,
            resumed=resumed,
            create_pace=http.pace("invite" if settings.invite else "create"),
        )
        if so_far is not None:
            so_far.result = result
    return result


async def _plan_and_send(
    settings: Settings,
    checkpoint: Checkpoint,
    prepared: Prepared,
    binding: Binding,
    http: ProviderHTTP,
    worker: Worker,
    stage: _SyncStage,
    progress: Progress | None,
) -> None:
    # Also on resume: the rows left `sending` are looked up, and lookups may need it.
    await probe(settings, http)
    if stage.journaled:
        stage.strategy = checkpoint.strategy or Strategy("resume", "resumed", 0)
        log.info("resuming from checkpoint", checkpoint=str(checkpoint.path))
    else:
        earlier = None if settings.recheck else checkpoint.earlier_runs()
        plan, strategy, existing = await make_plan(settings, prepared, http, progress, earlier)
        stage.strategy = strategy
        plan, stage.codes = await _check_codes(
            settings, prepared, http, plan, strategy, existing, ask=False
        )
        stage.unsaved_plan = plan
        check_guards(settings, plan)
        checkpoint.remember(existing.seen())
        checkpoint.save_plan(binding, plan.decisions(), strategy)
        stage.journaled = True
        log.info("plan saved", checkpoint=str(checkpoint.path), **plan.counts())
    to_send = checkpoint.rows_to_send()
    by_row = prepared.candidates(row for row, _ in to_send)
    jobs = [
        Job(candidate=by_row[row], unsure=state != CREATE, look_up_only=state == LOOK_UP)
        for row, state in to_send
        if row in by_row
    ]
    if jobs:
        log.info(
            "sending partners", rows=len(jobs), mode=settings.mode, rate_limit=settings.rate_limit
        )
        await worker.run(jobs)
    checkpoint.mark_finished()


def _result(
    settings: Settings,
    prepared: Prepared,
    outcomes: Outcomes,
    http: ProviderHTTP,
    started: float,
    codes: str | None,
    **figures: Any,
) -> RunResult:
    summary = RunSummary(
        counts=outcomes.counts(),
        created_earlier=outcomes.created_earlier(),
        calls=http.calls,
        elapsed=time.monotonic() - started,
        **figures,
        **budget_of(http),
    )
    return RunResult(
        outcomes=outcomes,
        summary=summary,
        warnings=migration_losses(settings, prepared),
        notes=run_notes(prepared, codes),
    )


def _prepared_outcomes(prepared: Prepared, unsettled: str) -> Outcomes:
    """Before any plan: the invalid and skipped rows as such, every other row `pending`."""
    valid, skipped = prepared.valid, prepared.skipped
    known = [*invalid_only(valid), *decisions(skipped_entries(skipped))]
    return settled_outcomes(known, prepared.table.row_numbers, valid, skipped, unsettled=unsettled)


def run_notes(prepared: Prepared, *more: str | None) -> list[str]:
    """The summary's lines about rows the run left behind on purpose, and about codes."""
    return [note for note in (skipped_summary(prepared.skipped), *more) if note]


async def _check_codes(
    settings: Settings,
    prepared: Prepared,
    http: ProviderHTTP,
    plan: PlanFrame,
    strategy: Strategy,
    existing: ExistingPartners,
    *,
    ask: bool,
) -> tuple[PlanFrame, str | None]:
    """The plan with the rows to create whose referral code is taken decided (or worded) so,
    and the summary's line about codes. A scan shows every code for free; `ask` lets the
    provider be asked per code (`plan` does; `sync` learns it from the create's answer)."""
    provider = settings.provider
    if provider.code_field is None or settings.invite:
        return plan, None
    check = await check_codes(
        provider,
        http,
        prepared.valid.codes(plan.rows(Action.CREATE)),
        existing.with_codes() if strategy.name == "scan" else None,
        ask=ask,
        policy=settings.retry,
        concurrency=settings.concurrency,
    )
    return plan.replaced(check.entries), check.note(provider)


def migration_losses(settings: Settings, prepared: Prepared) -> list[str]:
    """Per field, what a migration cannot carry across; for a file, the columns left unused."""
    table = prepared.table
    if settings.source is None:
        return [
            f"column {column!r} is in the input but no field takes it"
            for column in prepared.mapping.unused_columns
            if table.filled(column)
        ]
    return lost_in_migration(
        table.filled, table.height, prepared.mapping.unused_columns, settings.source.unportable
    )


def check_guards(settings: Settings, plan: PlanFrame) -> None:
    """Stop before any write when the plan looks wrong for an unattended run.

    Raises:
        GuardError: more creates than --max-creates, or more invalid rows than
            --max-invalid-share of the input.
    """
    counts = plan.counts()
    creates = counts[Action.CREATE.value]
    if settings.max_creates is not None and creates > settings.max_creates:
        raise GuardError(
            f"the plan would create {creates} partners, more than --max-creates "
            f"{settings.max_creates}; nothing was sent",
            hint="check the input, then raise --max-creates if the number is right",
        )
    invalid, rows = counts[Action.INVALID.value], len(plan)
    if invalid >= MIN_INVALID_FOR_GUARD and invalid / rows > settings.max_invalid_share:
        raise GuardError(
            f"{invalid} of {rows} rows are invalid ({invalid / rows:.0%}), more "
            f"than --max-invalid-share {settings.max_invalid_share:.0%}; nothing was sent",
            hint="is the export broken? `partner-sync plan --report FILE` lists every problem",
        )


def budget_of(http: ProviderHTTP) -> dict[str, Any]:
    """How the rate budget went: 429s, the budget at the end, whether it moved."""
    return {
        "rate_limited": http.rate_limited,
        "budget": http.limiter.per_minute,
        # Only a limit the provider stated is "learned"; a guess that moved was not told anything.
        "budget_learned": http.limiter.stated is not None,
    }


def plan_outcomes(plan: PlanFrame, mode: str) -> Outcomes:
    """What `plan` reports of each row: the action as the status, and for a row to create,
    what would happen to it."""
    action, message = pl.col(ACTION), pl.col(MESSAGE)
    would = "would be invited" if mode == "invite" else "would be created"
    frame = plan.frame.select(
        ROW,
        action.alias("status"),  # Status.CREATE is "create", the action's own name
        pl.col(REMOTE_ID).alias("remote_id"),
        pl.col(EMAIL).alias("email"),
        pl.col(TENANT).alias("tenant_id"),
        pl.col(FIELD).alias("field"),
        pl.when((action == Action.CREATE.value) & (message.fill_null("") == ""))
        .then(pl.lit(would))
        .otherwise(message.fill_null(""))
        .alias("message"),
    )
    return Outcomes(frame)
