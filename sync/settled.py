"""Every input row's outcome at the end of a run, also of one that stopped early.

A run that read its input reports every row: what the journal settled, what the plan decided,
and `pending` (with how to go on) for each row the run did not get to.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from sync.checkpoint import CREATE, SENDING
from sync.mapping import ROW
from sync.models import Status
from sync.outcomes import Outcomes
from sync.validate import EMAIL, TENANT, ValidatedRows

# One row as the journal holds it: (row, state, remote id, message, field).
JournalRow = tuple[int, str, str | None, str | None, str | None]

NOT_FINISHED = "not finished; run the same command again"
NOT_PLANNED = "not reached: the run stopped before its plan was made; run the same command again"
NOT_SENT = "not sent: the run stopped before sending anything"
NOT_CLASSIFIED = "not classified: the plan stopped before it got to this row; run it again"


def settled_outcomes(
    journal: Iterable[JournalRow],
    row_numbers: Iterable[int],
    valid: ValidatedRows,
    skipped: pl.DataFrame,
    *,
    unsettled: str = NOT_FINISHED,
) -> Outcomes:
    """One outcome per input row from `journal`; a row it does not settle is `pending`, with
    the `unsettled` message unless the journal says more. `skipped` holds the rows a
    migration's status policy leaves behind (with their email, when the source has one)."""
    frame = pl.DataFrame(
        list(journal),
        schema={
            ROW: pl.Int64,
            "state": pl.String,
            "remote_id": pl.String,
            "message": pl.String,
            "field": pl.String,
        },
        orient="row",
    )
    invalid = pl.DataFrame(
        [(outcome.row, outcome.email, outcome.tenant_id) for outcome in valid.invalid],
        schema={ROW: pl.Int64, "invalid_email": pl.String, "invalid_tenant": pl.String},
        orient="row",
    )
    numbers = pl.DataFrame({ROW: list(row_numbers)}, schema={ROW: pl.Int64})
    joined = (
        numbers.lazy()
        .join(frame.lazy(), on=ROW, how="left")
        .join(valid.keys.lazy().select(ROW, EMAIL, TENANT), on=ROW, how="left")
        .join(invalid.lazy(), on=ROW, how="left")
        .join(_skipped_emails(skipped).lazy(), on=ROW, how="left")
        .sort(ROW)
    )
    state, message = pl.col("state"), pl.col("message").fill_null("")
    open_row = state.is_null() | state.is_in([CREATE, SENDING])
    outcomes = joined.select(
        ROW,
        pl.when(open_row).then(pl.lit(Status.PENDING.value)).otherwise(state).alias("status"),
        "remote_id",
        pl.coalesce(EMAIL, "invalid_email", "skipped_email").alias("email"),
        pl.coalesce(TENANT, "invalid_tenant").alias("tenant_id"),
        "field",
        pl.when(open_row & (message == ""))
        .then(pl.lit(unsettled))
        .otherwise(message)
        .alias("message"),
    ).collect()
    return Outcomes(outcomes)


def invalid_only(valid: ValidatedRows) -> list[JournalRow]:
    """What is known of the rows before any plan: which are invalid."""
    return [
        (outcome.row, Status.INVALID.value, None, outcome.message, outcome.field)
        for outcome in valid.invalid
    ]


def _skipped_emails(skipped: pl.DataFrame) -> pl.DataFrame:
    if EMAIL not in skipped.columns:
        return pl.DataFrame(schema={ROW: pl.Int64, "skipped_email": pl.String})
    return skipped.select(ROW, pl.col(EMAIL).alias("skipped_email"))
