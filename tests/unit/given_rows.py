"""Rows written one by one in a test, validated as the reader's frame by the one validator."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from pydantic import BaseModel

from sync.mapping_spec import BoundMapping
from sync.models import Candidate, Outcome, Row
from sync.sources.table import FIELDS, NUMBER, PROBLEM
from sync.validate import validate_frame


@dataclass(slots=True)
class Validated:
    """The rows that fit the schema, and one outcome per row that does not."""

    candidates: list[Candidate]
    invalid: list[Outcome]


def validate_rows(
    rows: Iterable[Row],
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
) -> Validated:
    """Rows given one by one, as tests write them, validated the one way: as the reader's frame,
    by `validate.validate_frame`."""

    rows = list(rows)
    read = [name for _, columns in mapping.steps for name in columns]
    read += [name for name, _ in mapping.passthrough]
    names = list(dict.fromkeys([*read, *(name for row in rows for name in row.values)]))
    frame = pl.DataFrame(
        {
            NUMBER: pl.Series([row.number for row in rows], dtype=pl.Int64),
            **{
                name: pl.Series([row.values.get(name) for row in rows], dtype=pl.String)
                for name in names
            },
            PROBLEM: pl.Series([row.problem for row in rows], dtype=pl.String),
            FIELDS: pl.Series([None] * len(rows), dtype=pl.List(pl.String)),
        }
    )
    validated = validate_frame(frame, mapping, schema, tenant_field)
    return Validated(candidates=validated.candidates(), invalid=validated.invalid)
