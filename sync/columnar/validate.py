"""Input columns + a provider schema → the valid rows (as columns) and every invalid row's outcome.

A row is accepted here only when every value it gives is text (or a list of texts) that the
model's understood checks accept (checks.py). Every other row (a check failed or could not tell,
a field is not understood, the mapping gave a value that is not text) goes through
`validate.validate_row`: the same mapping and the same pydantic model, one row at a time. So the
outcome and message of a rejected row are pydantic's own, and an unknown rule is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import BaseModel

from sync.columnar import text
from sync.columnar.checks import ColumnSchema, column_schema
from sync.columnar.mapping import PER_ROW, ROW, map_frame
from sync.mapping import BoundMapping, set_path
from sync.models import Candidate, Outcome, Row
from sync.validate import validate_row

EMAIL = "email"
KEY = "key"
TENANT = "tenant_id"
_ACCEPTED = "accepted"


@dataclass(slots=True)
class ColumnValidated:
    """The rows that fit the schema, and one outcome per row that does not.

    `keys` has every valid row (row number, email as sent, its match key, tenant id), in row
    order. Payloads are built only when asked for, from `_columns` (rows accepted in columns) or
    `_payloads` (rows validated one by one).
    """

    keys: pl.DataFrame
    invalid: list[Outcome]
    _columns: pl.DataFrame  # ROW, accepted, then the payload paths
    _paths: tuple[str, ...]
    _payloads: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.keys.height

    @property
    def checked_one_by_one(self) -> int:
        """How many rows needed the row-by-row path (for the bench and the logs)."""
        return len(self._payloads) + len(self.invalid)

    def accepted_in_columns(self) -> list[int]:
        """The rows the column checks accepted on their own."""
        return self._columns.filter(pl.col(_ACCEPTED))[ROW].to_list()

    def candidates(self, rows: Iterable[int] | None = None) -> list[Candidate]:
        """The candidates of `rows` (all valid rows when None), in row order."""
        wanted = None if rows is None else set(rows)
        frame = self._columns.filter(pl.col(_ACCEPTED)).drop(_ACCEPTED)
        if wanted is not None:
            frame = frame.filter(pl.col(ROW).is_in(sorted(wanted)))
        built = {number: payload for number, payload in self._rows_of(frame)}
        for number, payload in self._payloads.items():
            if wanted is None or number in wanted:
                built[number] = payload
        keys = self.keys
        if wanted is not None:
            keys = keys.filter(pl.col(ROW).is_in(sorted(built)))
        return [
            Candidate(row=number, payload=built[number], email=email, tenant_id=tenant)
            for number, email, tenant in keys.select(ROW, EMAIL, TENANT).iter_rows()
        ]

    def _rows_of(self, frame: pl.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
        for values in frame.iter_rows():
            payload: dict[str, Any] = {}
            for path, value in zip(self._paths, values[1:], strict=True):
                if value is not None:
                    set_path(payload, path, value)
            yield values[0], payload


def validate_frame(
    frame: pl.DataFrame,
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
) -> ColumnValidated:
    """Map and validate every row of `frame`; every problem is collected, none stops the run.

    Args:
        frame: the input, every column text (reader.Table.frame).
        mapping: the mapping fitted to the input's header.
        schema: the provider's create-body model.
        tenant_field: the payload field that plays tenantId's role, if the provider has one.
    """
    mapped = map_frame(frame, mapping)
    columns = column_schema(schema)
    paths, outputs, accepted = _column_checks(mapped.targets, columns, tenant_field)
    checked = mapped.frame.select(ROW, accepted.alias(_ACCEPTED), *outputs).collect()
    rest = checked.lazy().filter(~pl.col(_ACCEPTED)).select(ROW).collect()[ROW]
    good = checked.lazy().filter(pl.col(_ACCEPTED)).drop(_ACCEPTED)

    payloads: dict[int, dict[str, Any]] = {}
    invalid: list[Outcome] = []
    extra_keys: list[tuple[int, str, str | None]] = []
    for row in _rows(frame, rest):
        result = validate_row(row, mapping, schema, tenant_field)
        if isinstance(result, Candidate):
            payloads[result.row] = result.payload
            extra_keys.append((result.row, result.email, result.tenant_id))
        else:
            invalid.append(result)

    keys = good.select(
        ROW,
        _column_or_null(EMAIL, paths).alias(EMAIL),
        _column_or_null(tenant_field, paths).alias(TENANT),
    ).collect()
    if extra_keys:
        more = pl.DataFrame(extra_keys, schema=keys.schema, orient="row")
        keys = pl.concat([keys, more]).sort(ROW)
    keys = keys.with_columns(text.email_keys(pl.col(EMAIL)).alias(KEY))
    return ColumnValidated(
        keys=keys.select(ROW, EMAIL, KEY, TENANT),
        invalid=invalid,
        _columns=checked,
        _paths=paths,
        _payloads=payloads,
    )


def _column_checks(
    targets: dict[str, pl.DataType],
    columns: ColumnSchema,
    tenant_field: str | None,
) -> tuple[tuple[str, ...], list[pl.Expr], pl.Expr]:
    """The paths sent, their output expressions, and the "accepted in columns" expression."""
    if not columns.known:
        return (), [], pl.lit(False)
    ok: list[pl.Expr] = []
    one_by_one: list[pl.Expr] = [pl.col(PER_ROW)]
    outputs: dict[str, pl.Expr] = {}
    for target, dtype in targets.items():
        leaf = columns.leaf(target)
        column = pl.col(target)
        is_text = dtype == pl.String
        fits = leaf.known and (
            (is_text and leaf.text) or (dtype == pl.List(pl.String) and leaf.text_list)
        )
        if target == tenant_field and not is_text:
            fits = False
        if not fits:
            one_by_one.append(column.is_not_null())
            continue
        value = text.strip(column) if leaf.trim and is_text else column
        outputs[target] = value
        ok.extend(column.is_null() | check(value) for check in leaf.checks)
    for path, leaf in columns.leaves.items():
        if leaf.required:
            ok.append(pl.col(path).is_not_null() if path in targets else pl.lit(False))
    order = {path: index for index, path in enumerate(columns.leaves)}
    paths = tuple(sorted(outputs, key=lambda path: order.get(path, len(order))))
    checks_pass = pl.all_horizontal(*ok).fill_null(False) if ok else pl.lit(True)
    accepted = checks_pass & ~pl.any_horizontal(*one_by_one).fill_null(True)
    return paths, [outputs[path].alias(path) for path in paths], accepted


def _column_or_null(path: str | None, paths: tuple[str, ...]) -> pl.Expr:
    if path is not None and path in paths:
        return pl.col(path)
    return pl.lit(None, dtype=pl.String)


def _rows(frame: pl.DataFrame, numbers: pl.Series) -> Iterator[Row]:
    """The input rows with these 1-based numbers, as the row-by-row path reads them."""
    if numbers.len() == 0:
        return
    picked = frame[(numbers - 1).cast(pl.Int64)]
    for number, values in zip(numbers.to_list(), picked.iter_rows(named=True), strict=True):
        yield Row(number=number, values=values)
