"""Wiring only: source → map → validate → find existing → plan → execute → outcomes.

Each stage lives in its own module: the rows' source in `sources/`, mapping and validation in
`checked_input.py`, what exists and the plan in `planning.py`, the creates in `worker.py`, the
result in `run_result.py`; this module only calls them in order, for `plan` and for `sync`."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from sync.checked_input import CheckedInput, check_input
from sync.checkpoint import Checkpoint
from sync.checkpoint_binding import Binding
from sync.models import Strategy
from sync.outcomes import Outcomes
from sync.plan_frame import PlanFrame
from sync.planning import check_guards, make_plan, settle_codes
from sync.progress import Progress
from sync.providers.http import ProviderHTTP
from sync.run_result import RunResult, SoFar, plan_outcomes, run_result, unplanned_outcomes
from sync.settings import Settings
from sync.settled import NOT_CLASSIFIED, NOT_PLANNED, NOT_SENT, settled_outcomes
from sync.sources import RowSource
from sync.sources.account import connect, probe
from sync.sources.file import InputFile
from sync.sources.snapshot import AccountSnapshot
from sync.worker import Worker, jobs_to_send

log = structlog.get_logger(__name__)


def rows_of(settings: Settings, *, resuming: bool = False, hashed: bool = True) -> RowSource:
    """Where the run's rows come from: its input file, or a migration's snapshot of the source
    account (reused, not read again, by an unfinished migration: `resuming`); `hashed` when a
    checkpoint will bind to the rows read (their content hash is taken)."""
    if settings.source is None:
        return InputFile(settings.input, settings.encoding, hashed)
    return AccountSnapshot(
        settings.source, settings.input, settings.encoding, reuse=resuming, hashed=hashed
    )


async def read_input(
    settings: Settings,
    progress: Progress | None = None,
    *,
    resuming: bool = False,
    hashed: bool = True,
) -> CheckedInput:
    """The run's rows, read from their source, mapped and validated (nothing is sent yet);
    `hashed` when a checkpoint will bind to them (`sync`; `plan` and `verify` keep none).

    Raises:
        InputError: the file, its encoding, its header or the mapping cannot be used.
    """
    source = rows_of(settings, resuming=resuming, hashed=hashed)
    table = await source.read(progress)
    checked = check_input(settings, table, progress)
    if isinstance(source, AccountSnapshot):
        checked.source_calls = source.calls
    return checked


async def run_plan(
    settings: Settings, progress: Progress | None = None, so_far: SoFar | None = None
) -> RunResult:
    """`partner-sync plan`: classify every row; only reads reach the provider.

    From the moment the input is read, `so_far` holds the result, also when the plan stops
    early: rows it did not classify are `pending`."""
    started = time.monotonic()
    checked = await read_input(settings, progress, hashed=False)  # it keeps no checkpoint
    http = connect(settings)
    plan: PlanFrame | None = None
    strategy: Strategy | None = None
    codes = None
    try:
        await probe(settings, http)
        plan, strategy, existing = await make_plan(settings, checked, http, progress)
        plan, codes = await settle_codes(
            settings, checked, http, plan, strategy, existing, ask=True
        )
    finally:
        await http.aclose()
        if plan is not None:
            outcomes = plan_outcomes(plan, settings.mode)
        else:
            outcomes = unplanned_outcomes(checked, NOT_CLASSIFIED)
        result = run_result(settings, checked, outcomes, http, started, codes, strategy=strategy)
        if so_far is not None:
            so_far.result = result
    return result


@dataclass(slots=True)
class _SyncStage:
    """How far a sync got: whether the checkpoint holds this job's plan, or a plan that was
    made but not saved (a guard stopped it before anything was sent)."""

    journaled: bool
    strategy: Strategy | None = None
    unsaved_plan: PlanFrame | None = None
    codes: str | None = None

    def outcomes(self, checkpoint: Checkpoint, checked: CheckedInput) -> Outcomes:
        numbers, valid, skipped = checked.table.row_numbers, checked.valid, checked.skipped
        if self.journaled:
            return settled_outcomes(checkpoint.reported_rows(), numbers, valid, skipped)
        if self.unsaved_plan is not None:
            decisions = self.unsaved_plan.decisions()
            return settled_outcomes(decisions, numbers, valid, skipped, unsettled=NOT_SENT)
        return unplanned_outcomes(checked, NOT_PLANNED)


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
    # An unfinished migration resumes from its snapshot, not from a new listing.
    unfinished = checkpoint.has_plan and not checkpoint.finished and not settings.restart
    checked = await read_input(settings, progress, resuming=unfinished)
    binding = _binding(settings, checked)
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
        await _plan_and_send(settings, checkpoint, checked, binding, http, worker, stage, progress)
    finally:
        await http.aclose()
        result = run_result(
            settings,
            checked,
            stage.outcomes(checkpoint, checked),
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


def _binding(settings: Settings, checked: CheckedInput) -> Binding:
    """What this run's checkpoint is bound to: the input, the mapping and who moves, the account."""
    input_hash = checked.table.content_hash
    if input_hash is None:  # read_input(hashed=True) takes it: a run that binds always asks
        raise RuntimeError("the input was read without its content hash")
    return Binding(
        input_hash=input_hash,
        mapping=checked.mapping.digest + settings.statuses.digest,
        provider=settings.provider.name,
        base_url=settings.bound_url or settings.base_url,
        account=settings.account,
        mode=settings.mode,
    )


async def _plan_and_send(
    settings: Settings,
    checkpoint: Checkpoint,
    checked: CheckedInput,
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
        plan, strategy, existing = await make_plan(settings, checked, http, progress, earlier)
        stage.strategy = strategy
        plan, stage.codes = await settle_codes(
            settings, checked, http, plan, strategy, existing, ask=False
        )
        stage.unsaved_plan = plan
        check_guards(settings, plan)
        checkpoint.remember(existing.seen())
        checkpoint.save_plan(binding, plan.decisions(), strategy)
        stage.journaled = True
        log.info("plan saved", checkpoint=str(checkpoint.path), **plan.counts())
    to_send = checkpoint.rows_to_send()
    jobs = jobs_to_send(to_send, checked.candidates(row for row, _ in to_send))
    if jobs:
        log.info(
            "sending partners", rows=len(jobs), mode=settings.mode, rate_limit=settings.rate_limit
        )
        await worker.run(jobs)
    checkpoint.mark_finished()
