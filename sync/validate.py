"""Input columns + a provider schema → the valid rows' keys and every invalid row's outcome.

The provider's pydantic model is compiled to column checks (schema_checks.py), and every row is
judged by them at once. A row that could not be mapped (mapping.PROBLEM) is invalid with that
problem. pydantic runs one row at a time only for the rows the checks refuse, to word their
message (row_messages.py), and for the rare value only pydantic can judge (an object from a
`json` transform): so the outcome and message of a rejected row are pydantic's own, and no rule
is ever skipped.

Only the match keys of valid rows are kept. A payload is built when a row is about to be sent,
from its input row, by the same column expressions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import BaseModel

from sync import text
from sync.mapping import PROBLEM, PROBLEM_FIELD, ROW, CellError, Mapped, map_frame, set_path
from sync.mapping_spec import BoundMapping
from sync.models import Candidate, Outcome
from sync.row_messages import CellsGiven, refused, validate_payload
from sync.schema_checks import ColumnSchema, column_schema
from sync.sources.table import CONTROL, rows_numbered

EMAIL = "email"
KEY = "key"
TENANT = "tenant_id"
CODE = "code"  # the referral code a row sends (`Provider.code_field`)
_ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class _Checks:
    """The column checks of one mapping and schema."""

    paths: tuple[str, ...]  # payload fields the columns produce, in the model's order
    outputs: tuple[pl.Expr, ...]  # their values as sent (trimmed where the model trims)
    # True where the row is valid and decided by the columns alone, unless a value holds a
    # control character: `no_control` says, asked only of the rows whose cells hold one.
    accepted: pl.Expr
    no_control: pl.Expr
    trims_email: bool = False  # the email sent is trimmed (the model trims it)


@dataclass(slots=True)
class ValidatedRows:
    """The rows that fit the schema, and one outcome per row that does not.

    `keys` has every valid row (row number, email as sent, its match key, tenant id), in row
    order; `candidates` builds payloads for the rows asked for.
    """

    keys: pl.DataFrame
    invalid: list[Outcome]
    _source: pl.DataFrame  # the reader's frame, to map the payloads asked for
    _mapping: BoundMapping
    _checks: _Checks
    _payloads: dict[int, dict[str, Any]] = field(default_factory=dict)  # rows checked one by one
    _code_field: str | None = None
    # ROW, CODE of the rows the columns accepted that send a referral code.
    _codes: pl.DataFrame = field(default_factory=lambda: _codes_frame([]))

    def codes(self, rows: pl.Series) -> CodeRows:
        """The rows among these valid `rows` (numbers) that send a referral code, with it."""
        field_ = self._code_field
        sent = [
            (row, payload[field_])
            for row, payload in self._payloads.items()
            if field_ and isinstance(payload.get(field_), str) and payload[field_]
        ]
        wanted = rows.cast(pl.Int64).implode()
        frame = (
            pl.concat([self._codes, _codes_frame(sent)])
            .filter(pl.col(ROW).is_in(wanted))
            .join(self.keys.select(ROW, EMAIL, TENANT), on=ROW)
            .sort(ROW)
        )
        return CodeRows(frame)

    def __len__(self) -> int:
        return self.keys.height

    @property
    def checked_one_by_one(self) -> int:
        """How many rows needed the row-by-row path (for the bench and the logs)."""
        return len(self._payloads) + len(self.invalid)

    def without(self, rows: pl.Series) -> None:
        """Leave these rows out of both the valid and the invalid ones (rows that do not move)."""
        if rows.len() == 0:
            return
        left_out = rows.implode()
        self.keys = self.keys.filter(~pl.col(ROW).is_in(left_out))
        gone = set(rows.to_list())
        self.invalid = [outcome for outcome in self.invalid if outcome.row not in gone]

    def accepted_in_columns(self) -> list[int]:
        """The rows the column checks accepted on their own."""
        return [row for row in self.keys[ROW].to_list() if row not in self._payloads]

    def candidates(self, rows: Iterable[int] | None = None) -> list[Candidate]:
        """The candidates of `rows` (every valid row when None), in row order."""
        keys = self.keys
        if rows is not None:
            keys = keys.filter(pl.col(ROW).is_in(sorted(set(rows))))
        numbers = keys[ROW]
        by_rows = pl.Series(list(self._payloads), dtype=pl.Int64)
        built = dict(self._payloads_of(numbers.filter(~numbers.is_in(by_rows.implode()))))
        built.update(self._payloads)
        return [
            Candidate(row=number, payload=built[number], email=email, tenant_id=tenant)
            for number, email, tenant in keys.select(ROW, EMAIL, TENANT).iter_rows()
        ]

    def _payloads_of(self, numbers: pl.Series) -> Iterator[tuple[int, dict[str, Any]]]:
        if numbers.len() == 0:
            return
        mapped = map_frame(rows_numbered(self._source, numbers), self._mapping)
        values = mapped.frame.select(ROW, *self._checks.outputs).collect()
        for record in values.iter_rows():
            payload: dict[str, Any] = {}
            for path, value in zip(self._checks.paths, record[1:], strict=True):
                if value is not None:
                    set_path(payload, path, value)  # the columns accepted: text or lists
            yield record[0], payload


@dataclass(frozen=True, slots=True)
class CodeRows:
    """Rows to create that carry a referral code: ROW, EMAIL, TENANT, CODE (a CodesToCarry)."""

    frame: pl.DataFrame

    def __len__(self) -> int:
        return self.frame.height

    def distinct(self) -> set[str]:
        return set(self.frame[CODE].unique().to_list())

    def held(self, codes: Collection[str], *, fold: bool) -> list[tuple[Candidate, str]]:
        """The rows whose code is one of `codes` (compared case-folded when `fold`)."""
        if not codes:
            return []
        code = pl.col(CODE)
        if fold:
            code = code.map_batches(
                text.python_exact(str.casefold, lambda value: value.str.to_lowercase()),
                return_dtype=pl.String,
                is_elementwise=True,
            )
        rows = self.frame.filter(code.is_in(pl.Series(sorted(codes), dtype=pl.String).implode()))
        return [
            (Candidate(row=row, payload={}, email=email, tenant_id=tenant), sent)
            for row, email, tenant, sent in rows.select(ROW, EMAIL, TENANT, CODE).iter_rows()
        ]


def _codes_frame(rows: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={ROW: pl.Int64, CODE: pl.String}, orient="row")


def validate_frame(
    frame: pl.DataFrame,
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
    code_field: str | None = None,
) -> ValidatedRows:
    """Map and validate every row of `frame`; every problem is collected, none stops the run.

    Args:
        frame: the input (sources/table.py: every column text, with each row's number and the
            reader's problem, which makes the row invalid).
        mapping: the mapping fitted to the input's header.
        schema: the provider's create-body model.
        tenant_field: the payload field that plays tenantId's role, if the provider has one.
        code_field: the payload field that carries a referral code, if the provider has one.
    """
    mapped = map_frame(frame, mapping)
    checks = _column_checks(mapped, column_schema(schema), tenant_field)
    email = _output(checks, EMAIL)
    checked = mapped.frame.select(
        ROW,
        checks.accepted.alias(_ACCEPTED),
        email.alias(EMAIL),
        _output(checks, tenant_field).alias(TENANT),
        _output(checks, code_field).alias(CODE),
        pl.col(CONTROL),
        # The match key in polars alone: a Python function here would hold the GIL for every
        # morsel. The keys of the rare emails beyond ASCII are made exact below.
        text.ascii_email_keys(email, trimmed=checks.trims_email).alias(KEY),
    ).collect(engine="streaming")  # in morsels: both cores, and less memory at once
    checked = _without_control(checked, frame, mapping, checks)
    rest = checked.filter(~pl.col(_ACCEPTED))[ROW]
    keys = checked.filter(pl.col(_ACCEPTED)).drop(_ACCEPTED)
    keys = keys.with_columns(text.exact_email_keys(keys[EMAIL], keys[KEY]))
    codes = keys.select(ROW, CODE).filter(pl.col(CODE).str.len_bytes() > 0)

    payloads: dict[int, dict[str, Any]] = {}
    invalid: list[Outcome] = []
    extra: list[tuple[int, str, str | None]] = []  # rows accepted one by one
    for result in _one_by_one(frame, rest, mapping, schema, tenant_field):
        if isinstance(result, Candidate):
            payloads[result.row] = result.payload
            extra.append((result.row, result.email, result.tenant_id))
        else:
            invalid.append(result)
    invalid.sort(key=lambda outcome: outcome.row)
    keys = keys.select(ROW, EMAIL, KEY, TENANT)
    if extra:
        keys = pl.concat([keys, _keys_of(extra)]).sort(ROW)
    return ValidatedRows(
        keys=keys,
        invalid=invalid,
        _source=frame,
        _mapping=mapping,
        _checks=checks,
        _payloads=payloads,
        _code_field=code_field,
        _codes=codes,
    )


def _without_control(
    checked: pl.DataFrame, frame: pl.DataFrame, mapping: BoundMapping, checks: _Checks
) -> pl.DataFrame:
    """`checked` with the rows a value of which holds a control character not accepted: their
    message is pydantic's (row_messages.py). Only the rows whose cells hold one are mapped
    again and asked."""
    suspects = checked[ROW].filter(checked[_ACCEPTED] & checked[CONTROL])
    checked = checked.drop(CONTROL)
    if suspects.len() == 0:
        return checked
    again = map_frame(rows_numbered(frame, suspects), mapping).frame
    holding = again.filter(~checks.no_control).select(ROW).collect()[ROW]
    return checked.with_columns(pl.col(_ACCEPTED) & ~pl.col(ROW).is_in(holding.implode()))


def _keys_of(rows: list[tuple[int, str, str | None]]) -> pl.DataFrame:
    """The keys frame of rows given as (row number, email, tenant id)."""
    keys = pl.DataFrame(
        rows, schema={ROW: pl.Int64, EMAIL: pl.String, TENANT: pl.String}, orient="row"
    )
    return keys.select(ROW, EMAIL, text.email_keys(pl.col(EMAIL)).alias(KEY), TENANT)


def _column_checks(mapped: Mapped, columns: ColumnSchema, tenant_field: str | None) -> _Checks:
    """What the columns produce and when they accept a row on their own."""
    if columns.why_not is not None:
        return _Checks(paths=(), outputs=(), accepted=pl.lit(False), no_control=pl.lit(True))
    ok: list[pl.Expr] = []
    # Rows only pydantic can judge, and rows that could not be mapped.
    undecided: list[pl.Expr] = [pl.col(PROBLEM).is_not_null()]
    no_control: list[pl.Expr] = []
    outputs: dict[str, pl.Expr] = {}
    for target, dtype in mapped.targets.items():
        column = pl.col(target)
        leaf = columns.leaf(target)
        if leaf is None:
            if target in columns.whole:
                undecided.append(column.is_not_null())
            elif not columns.ignores_others:
                ok.append(column.is_null())  # not a field of this provider
            continue
        compiled = leaf.column(column, dtype, trimmed=target in mapped.trimmed)
        if compiled is None or (target == tenant_field and dtype != pl.String):
            undecided.append(column.is_not_null())
            continue
        outputs[target] = compiled.sent
        ok.append(column.is_null() | compiled.ok)
        if dtype == pl.String:
            no_control.append(column.is_null() | ~column.str.contains(text.CONTROL))
        elif dtype == pl.List(pl.String):
            no_control.append(column.is_null() | ~column.list.join("").str.contains(text.CONTROL))
    for path, leaf in columns.leaves.items():
        if leaf.default is not None:
            default = pl.lit(leaf.default)
            outputs[path] = pl.coalesce(outputs[path], default) if path in outputs else default
    ok.extend(_object_checks(columns, set(mapped.targets)))
    order = {path: index for index, path in enumerate(columns.leaves)}
    paths = tuple(sorted(outputs, key=lambda path: order.get(path, len(order))))
    checks_pass = pl.all_horizontal(*ok).fill_null(False) if ok else pl.lit(True)
    accepted = checks_pass & ~pl.any_horizontal(*undecided).fill_null(True)
    email_leaf = columns.leaf(EMAIL)
    return _Checks(
        paths=paths,
        outputs=tuple(outputs[path].alias(path) for path in paths),
        accepted=accepted,
        no_control=pl.all_horizontal(*no_control).fill_null(False) if no_control else pl.lit(True),
        trims_email=bool(email_leaf and email_leaf.text and email_leaf.text.trim)
        or EMAIL in mapped.trimmed,
    )


def _object_checks(columns: ColumnSchema, targets: set[str]) -> list[pl.Expr]:
    """The rules of each object sent: its required fields, and one of each group set."""

    def given(paths: Iterable[str]) -> pl.Expr:
        present = [pl.col(path).is_not_null() for path in paths if path in targets]
        return pl.any_horizontal(*present) if present else pl.lit(False)

    checks: list[pl.Expr] = []
    for rule in columns.objects:
        sent = pl.lit(True) if not rule.path else given(rule.leaves)
        checks.extend(~sent | given([path]) for path in rule.required)
        checks.extend(~sent | given(group) for group in rule.one_of)
    return checks


def _output(checks: _Checks, path: str | None) -> pl.Expr:
    """The value sent for `path`, or null when the columns do not produce it."""
    if path is not None and path in checks.paths:
        return checks.outputs[checks.paths.index(path)]
    return pl.lit(None, dtype=pl.String)


def _one_by_one(
    frame: pl.DataFrame,
    numbers: pl.Series,
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
) -> Iterator[Candidate | Outcome]:
    """Validate these rows with pydantic, one by one, from their mapped values; a row that
    could not be mapped is invalid with its problem, and the keys it shows."""
    if numbers.len() == 0:
        return
    picked = rows_numbered(frame, numbers)
    mapped = map_frame(picked, mapping)
    values = mapped.frame.select(ROW, PROBLEM_FIELD, PROBLEM, *mapped.targets).collect()
    targets = list(mapped.targets)
    sources = CellsGiven.sources_of(mapping, picked.columns)
    inputs = picked.iter_rows()
    for (number, about, problem, *cells), given in zip(values.iter_rows(), inputs, strict=True):
        if problem is None:
            try:
                payload = mapped.payload(cells)
            except CellError as exc:  # cannot be: a clash is a PROBLEM already
                about, problem = exc.target, str(exc)
            else:
                quoted = CellsGiven(sources, given)
                yield validate_payload(number, payload, schema, tenant_field, quoted)
                continue
        shown = dict(zip(targets, cells, strict=True))
        yield refused(number, about, problem, shown.get(EMAIL), shown.get(tenant_field or ""))
