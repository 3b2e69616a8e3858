"""Input rows written one by one in a test, handed to the one validator as the reader's frame."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from pydantic import BaseModel

from sync.mapping_spec import BoundMapping
from sync.sources.table import CONTROL, FIELDS, NUMBER, PROBLEM, holds_control
from sync.validate import ValidatedRows, validate_frame


@dataclass(frozen=True, slots=True)
class Row:
    """One input row as the reader would give it: its data row number, its cells (None when
    empty) and the reader's problem with it (a ragged row, a stray quote), if any."""

    number: int
    values: dict[str, str | None]
    problem: str | None = None


def reader_frame(rows: Iterable[Row], mapping: BoundMapping) -> pl.DataFrame:
    """The reader's frame of these rows (sync/sources/table.py), with every column the mapping
    reads (empty where a row gives none)."""
    rows = list(rows)
    read = [name for _, columns in mapping.steps for name in columns]
    read += [name for name, _ in mapping.passthrough]
    names = list(dict.fromkeys([*read, *(name for row in rows for name in row.values)]))
    return pl.DataFrame(
        {
            NUMBER: pl.Series([row.number for row in rows], dtype=pl.Int64),
            **{
                name: pl.Series([row.values.get(name) for row in rows], dtype=pl.String)
                for name in names
            },
            PROBLEM: pl.Series([row.problem for row in rows], dtype=pl.String),
            FIELDS: pl.Series([None] * len(rows), dtype=pl.List(pl.String)),
        }
    ).with_columns(holds_control(names).alias(CONTROL))


def validate_rows(
    rows: Iterable[Row],
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
) -> ValidatedRows:
    """These rows validated by `validate.validate_frame`, as a run validates its input."""
    return validate_frame(reader_frame(rows, mapping), mapping, schema, tenant_field)
