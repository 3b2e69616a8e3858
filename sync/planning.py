"""The plan stage: which rows' partners exist (a scan or lookups, the cheaper way, beside what
earlier runs saw), one plan entry per row, referral codes already taken, and the guards that stop
an unattended run whose plan looks wrong before anything is sent."""

from __future__ import annotations

import polars as pl
import structlog

from sync.checked_input import CheckedInput
from sync.codes import check_codes
from sync.earlier_runs import EarlierRuns, Refusals, apply_refusals
from sync.errors import GuardError
from sync.index import ExistingPartners
from sync.mapping import ROW
from sync.migration import STATUS, skip_message
from sync.models import Action, PlanEntry, Strategy
from sync.plan import FirstRows, candidates_of, match, needing_check, split_duplicates
from sync.plan_frame import PlanFrame
from sync.progress import Progress
from sync.providers.http import ProviderHTTP
from sync.remote import RemoteReader
from sync.settings import Settings
from sync.validate import EMAIL, TENANT, ValidatedRows

log = structlog.get_logger(__name__)

# A few bad rows in a small file are bad rows; a broken export makes many.
MIN_INVALID_FOR_GUARD = 10


async def _existing(
    settings: Settings, http: ProviderHTTP, to_check: pl.DataFrame, progress: Progress | None
) -> tuple[ExistingPartners, Strategy]:
    """Learn which of these rows (first-of-their-key rows' keys) exist, the cheaper way."""
    reader = RemoteReader(settings.provider, http, settings.retry, settings.concurrency, progress)
    with_tenant = to_check.height - to_check[TENANT].null_count()
    strategy, existing = await reader.choose(to_check.height, with_tenant)
    log.info("existing partners", strategy=strategy.name, reason=strategy.reason, count=existing)
    if strategy.name == "scan":
        return await reader.scan(existing), strategy
    if strategy.name == "lookup":
        return await reader.look_up(list(candidates_of(to_check))), strategy
    return ExistingPartners(), strategy


async def make_plan(
    settings: Settings,
    checked: CheckedInput,
    http: ProviderHTTP,
    progress: Progress | None = None,
    earlier: EarlierRuns | None = None,
) -> tuple[PlanFrame, Strategy, ExistingPartners]:
    """Classify every row; returns the plan, how existing partners were found, and the index
    of the partners known to exist (what the provider showed, to remember for the next run).

    With what `earlier` runs saw, only rows whose email was never seen are checked at the
    provider, so a nightly run costs calls in proportion to what is new.
    """
    rows = split_duplicates(checked.valid.keys, settings.tenant_label)
    existing, strategy = await _existing(settings, http, _to_check(rows, earlier), progress)
    if earlier is not None:
        existing.add_remembered(earlier.partners)  # after the fresh answers: those win
    refusals = earlier.refusals if earlier is not None else None
    plan = plan_rows(checked.valid, rows, existing, settings.tenant_label, refusals)
    plan = plan.replaced(skipped_entries(checked.skipped))
    return plan, strategy, existing


def _to_check(rows: FirstRows, earlier: EarlierRuns | None) -> pl.DataFrame:
    """The keys to ask the provider about: only the first row of each email / tenant id (later
    ones are duplicates), and of those only what earlier runs did not see."""
    firsts = rows.firsts
    return needing_check(firsts, earlier.partners) if earlier is not None else firsts


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


async def settle_codes(
    settings: Settings,
    checked: CheckedInput,
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
        checked.valid.codes(plan.rows(Action.CREATE)),
        existing.with_codes() if strategy.name == "scan" else None,
        ask=ask,
        policy=settings.retry,
        concurrency=settings.concurrency,
    )
    return plan.replaced(check.entries), check.note(provider)


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
