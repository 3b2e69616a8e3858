"""The plan: every input row's decision, in row order, as columns.

The checkpoint stores these decisions, `plan` reports them, and `sync` sends the rows to create.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
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
_AT = "at"  # a row's place among the rows to interleave
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


def in_row_order(
    known: pl.DataFrame,
    settled: pl.Series,
    few: pl.DataFrame,
    looked_up: Mapping[str, tuple[str, pl.Series]],
) -> pl.DataFrame:
    """The rows of `known` that `settled` marks (in row order already) and every row of `few`
    (sorted), interleaved in row order, in the columns of `few`.

    For a column named in `looked_up` (REMOTE_ID: the partner's id), `known` holds instead the
    position of each row's value in a series (the index's ids): the values are gathered once,
    in the plan's order, not for every row first and again to interleave them. Each column is
    gathered on its own from one chunk, so that its texts stay views of the buffers they came
    from (a merge would copy every text) and only one column is in flight.
    """
    at = settled.arg_true()
    end = known.height + few.height
    order = (
        pl.DataFrame({ROW: known[ROW].gather(at), _AT: at})
        .merge_sorted(
            pl.DataFrame(
                {ROW: few[ROW], _AT: pl.int_range(known.height, end, dtype=pl.UInt32, eager=True)}
            ),
            key=ROW,
        )
        .get_column(_AT)
    )

    def interleaved(name: str) -> pl.Series:
        if name not in looked_up:
            return pl.concat([known[name], few[name]], rechunk=True).gather(order)
        position, values = looked_up[name]
        after = pl.int_range(values.len(), values.len() + few.height, dtype=pl.UInt32, eager=True)
        positions = pl.concat([known[position], after], rechunk=True).gather(order)
        return pl.concat([values, few[name]], rechunk=True).gather(positions)

    return pl.DataFrame([interleaved(name).alias(name) for name in few.columns])
