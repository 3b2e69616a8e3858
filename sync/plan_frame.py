"""The plan: every input row's decision, in row order, as columns.

The checkpoint stores these decisions, `plan` reports them, and `sync` sends the rows to create.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from sync.mapping import ROW
from sync.models import Action, PlanEntry
from sync.validate import EMAIL, TENANT

ACTION, REMOTE_ID, MESSAGE, FIELD = "action", "remote_id", "message", "field"
# A byte per row for the action; the messages and fields repeat (most rows' message is one of
# a few), so each distinct text is held once.
ACTION_TYPE: pl.DataType = pl.Enum([action.value for action in Action])
MESSAGE_TYPE: pl.DataType = pl.Categorical()
FIELD_TYPE = MESSAGE_TYPE
_ENTRY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    ROW: pl.Int64,
    ACTION: ACTION_TYPE,
    REMOTE_ID: pl.String,
    MESSAGE: MESSAGE_TYPE,
    FIELD: FIELD_TYPE,
    EMAIL: pl.String,
    TENANT: pl.String,
}


@dataclass(frozen=True, slots=True)
class PlanFrame:
    """Every row's decision, in row order, as columns."""

    frame: pl.DataFrame  # ROW, ACTION, REMOTE_ID, MESSAGE, FIELD, EMAIL, TENANT

    @classmethod
    def of(cls, entries: list[PlanEntry]) -> PlanFrame:
        return cls(frame=entries_frame(sorted(entries, key=lambda entry: entry.row)))

    def __len__(self) -> int:
        return self.frame.height

    def entries(self, action: Action | None = None) -> Iterator[PlanEntry]:
        """Every row's entry, in row order (only those of `action` when given)."""
        frame = self.frame if action is None else self.frame.filter(pl.col(ACTION) == action.value)
        for row, action_, remote_id, message, field, email, tenant in frame.iter_rows():
            yield PlanEntry(
                row=row,
                action=Action(action_),
                remote_id=remote_id,
                message=message,
                field=field,
                email=email,
                tenant_id=tenant,
            )

    def decisions(self) -> Iterator[tuple[int, str, str | None, str | None, str | None]]:
        """Every row's (row, action, remote id, message, field), as the checkpoint stores it."""
        return self.frame.select(ROW, ACTION, REMOTE_ID, MESSAGE, FIELD).iter_rows()

    def counts(self) -> Counter[str]:
        return Counter(dict(self.frame[ACTION].value_counts().iter_rows()))

    def replaced(self, entries: list[PlanEntry]) -> PlanFrame:
        """This plan with these rows decided otherwise."""
        if not entries:
            return self
        rows = pl.Series([entry.row for entry in entries], dtype=pl.Int64).implode()
        kept = self.frame.filter(~pl.col(ROW).is_in(rows))
        return PlanFrame(frame=pl.concat([kept, entries_frame(entries)]).sort(ROW))

    def rows(self, action: Action) -> pl.Series:
        """The numbers of the rows decided `action`, in row order."""
        return self.frame.filter(pl.col(ACTION) == action.value)[ROW]


def entries_frame(entries: list[PlanEntry]) -> pl.DataFrame:
    """Plan entries as the plan's columns."""
    return pl.DataFrame(
        [
            (e.row, e.action.value, e.remote_id, e.message, e.field, e.email, e.tenant_id)
            for e in entries
        ],
        schema=_ENTRY_SCHEMA,
        orient="row",
    )
