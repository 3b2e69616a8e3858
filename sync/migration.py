"""Who moves: the status policy over a status column (a migration's neutral `status`).

By default only partners active at the source move (sync.neutral.ACTIVE), and rows without a
status; every other row is `skipped`, its message naming its status at the source. Chosen
statuses can be moved anyway (`--include-status pending,invited`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

from sync.mapping import ROW
from sync.neutral import ACTIVE
from sync.sources.table import Table

STATUS = "source_status"


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """Which rows of an input move, by the value of its status column."""

    column: str | None = None  # None: the input has no status, every row moves
    include: frozenset[str] = frozenset()  # moved besides ACTIVE (lower-case)

    @property
    def moving(self) -> frozenset[str]:
        return self.include | {ACTIVE}

    @property
    def digest(self) -> str:
        """What the checkpoint binds to: a plan made under another policy is another plan."""
        if self.column is None:
            return ""
        return f"status:{self.column}:{','.join(sorted(self.moving))}"

    @staticmethod
    def skipped_frame() -> pl.DataFrame:
        """No rows skipped."""
        return pl.DataFrame(schema={ROW: pl.Int64, STATUS: pl.String})

    def skipped(self, table: Table) -> pl.DataFrame:
        """The rows that do not move: ROW and their status (lower-case), in row order."""
        if self.column is None or self.column not in table.columns:
            return self.skipped_frame()
        statuses = table.frame[self.column].str.strip_chars().str.to_lowercase()
        frame = pl.DataFrame(
            {ROW: table.row_numbers, STATUS: statuses},
            schema={ROW: pl.Int64, STATUS: pl.String},
        )
        moving = pl.Series(sorted(self.moving), dtype=pl.String).implode()
        kept = pl.col(STATUS).is_null() | (pl.col(STATUS) == "") | pl.col(STATUS).is_in(moving)
        return frame.filter(~kept)


def skip_message(status: str) -> str:
    """The report's word on a row the policy leaves behind."""
    return f"not moved: {status} at the source (--include-status {status} moves it)"


def skipped_summary(skipped: pl.DataFrame) -> str | None:
    """One line for the summary: how many rows were skipped, per status at the source."""
    if not skipped.height:
        return None
    counts = Counter(skipped[STATUS].to_list())
    per_status = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    return f"skipped by their status at the source: {per_status} (--include-status moves them)"


def parse_statuses(text: str | None) -> frozenset[str]:
    """`--include-status pending,invited` as a set of lower-case statuses."""
    if not text:
        return frozenset()
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())
