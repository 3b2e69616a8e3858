"""What a run has to show for itself: every row's outcome and the run's figures, also when it
stops early."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import structlog

from sync.checked_input import CheckedInput, migration_losses, run_notes
from sync.checkpoint import decisions
from sync.mapping import ROW
from sync.models import Action, RunSummary
from sync.outcomes import Outcomes
from sync.plan_frame import ACTION, FIELD, MESSAGE, REMOTE_ID, PlanFrame
from sync.planning import skipped_entries
from sync.providers.http import ProviderHTTP
from sync.settings import Settings
from sync.settled import invalid_only, settled_outcomes
from sync.validate import EMAIL, TENANT

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class RunResult:
    """Every row's outcome, in row order, and the figures of the run."""

    outcomes: Outcomes
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # summary lines: rows skipped, codes taken


@dataclass(slots=True)
class SoFar:
    """What a run has to show for itself, set once its input is read: when it stops early
    (a signal, a refused account, a guard), the CLI still writes the whole report."""

    result: RunResult | None = None


def run_result(
    settings: Settings,
    checked: CheckedInput,
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
        source_calls=checked.source_calls,
        elapsed=time.monotonic() - started,
        **figures,
        **budget_of(http),
    )
    return RunResult(
        outcomes=outcomes,
        summary=summary,
        # Nothing read, nothing lost: an empty source has no fields to leave behind.
        warnings=migration_losses(settings, checked) if checked.table.height else [],
        notes=run_notes(checked, codes),
    )


def unplanned_outcomes(checked: CheckedInput, unsettled: str) -> Outcomes:
    """Before any plan: the invalid and skipped rows as such, every other row `pending`."""
    valid, skipped = checked.valid, checked.skipped
    known = [*invalid_only(valid), *decisions(skipped_entries(skipped))]
    return settled_outcomes(known, checked.table.row_numbers, valid, skipped, unsettled=unsettled)


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
