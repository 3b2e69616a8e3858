"""Every row's outcome as columns: what the report writes and the summary counts.

A `plan` of a million rows has a million outcomes; kept as a polars frame they cost a few tens
of megabytes and are counted, filtered and written at column speed. `Outcome` objects are made
only for the few rows a person reads on the terminal (or when a caller iterates).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import polars as pl

from sync.models import PROBLEM_STATUSES, Outcome, Status

# The message of a row reported `exists` because an earlier run on its checkpoint made its
# partner: "created" or "invited", this, and " at <UTC time the create was sent>" when known.
EARLIER_RUN = " by an earlier run"

COLUMNS = ("row", "status", "remote_id", "email", "tenant_id", "field", "message")
SCHEMA = {
    "row": pl.Int64,
    "status": pl.String,
    "remote_id": pl.String,
    "email": pl.String,
    "tenant_id": pl.String,
    "field": pl.String,
    "message": pl.String,
}

# The rows the summary shows first: what a person must fix. (`pending` only needs a re-run.)
SHOWN_PROBLEMS = (Status.INVALID, Status.CONFLICT, Status.FAILED, Status.DIFFERS, Status.MISSING)


class Outcomes:
    """One outcome per input row, in row order."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Outcomes:
        return cls(
            pl.DataFrame(
                [
                    (o.row, o.status.value, o.remote_id, o.email, o.tenant_id, o.field, o.message)
                    for o in outcomes
                ],
                schema=SCHEMA,
                orient="row",
            )
        )

    def __len__(self) -> int:
        return self.frame.height

    def __iter__(self) -> Iterator[Outcome]:
        return _outcomes(self.frame)

    def counts(self) -> Counter[str]:
        """How many rows ended with each status."""
        return Counter(dict(self.frame["status"].value_counts().iter_rows()))

    def created_earlier(self) -> int:
        """Rows whose partner an earlier run made (reported `exists`, so that `created` and
        `invited` count only this run's)."""
        message = pl.col("message")
        earlier = (pl.col("status") == Status.EXISTS.value) & (
            message.str.starts_with(Status.CREATED.value + EARLIER_RUN)
            | message.str.starts_with(Status.INVITED.value + EARLIER_RUN)
        )
        return int(self.frame.select(earlier.sum()).item())

    def problem_count(self) -> int:
        """Rows that make the exit code 1."""
        statuses = pl.Series([status.value for status in PROBLEM_STATUSES]).implode()
        return int(self.frame["status"].is_in(statuses).sum())

    def problems(self, limit: int) -> list[Outcome]:
        """The first rows that need a person's attention, for the summary."""
        shown = pl.Series([status.value for status in SHOWN_PROBLEMS]).implode()
        return list(_outcomes(self.frame.filter(pl.col("status").is_in(shown)).head(limit)))


def _outcomes(frame: pl.DataFrame) -> Iterator[Outcome]:
    for row, status, remote_id, email, tenant, field, message in frame.iter_rows():
        yield Outcome(
            row=row,
            status=Status(status),
            remote_id=remote_id,
            message=message or "",
            field=field,
            email=email,
            tenant_id=tenant,
        )
