"""A bound mapping (mapping_spec.py) applied to the input's frame: one column per target field.

This is the one implementation of the mapping: every row, whatever its values, is mapped by the
same lazy query (mapping_rules.py states each rule on columns). A row whose cells cannot be
mapped (the reader could not split it, a JSON cell does not parse, a list where text is wanted)
keeps its first problem beside its values, for validation to report it invalid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from sync import text
from sync.mapping_rules import (
    JSON,
    LIST,
    TEXT,
    Column,
    as_json,
    constant,
    first_filled,
    joined,
    transformed,
)
from sync.mapping_spec import BoundMapping, FieldRule, takes_lists
from sync.sources.table import CONTROL, NUMBER
from sync.sources.table import PROBLEM as READER_PROBLEM

ROW = "row"  # the 1-based data row number
PROBLEM_FIELD = " problem field"  # the field a row's problem is about (ROW_FIELD: the whole row)
PROBLEM = " problem"  # why the row cannot be sent as it is mapped, or None
ROW_FIELD = "row"  # the field named when the reader could not split the row into columns

_DTYPES: dict[str, pl.DataType] = {
    TEXT: pl.String(),
    LIST: pl.List(pl.String),
    JSON: pl.Object(),  # any value: the column holds its JSON text
}


class CellError(ValueError):
    """A row's mapped values do not make one payload (a JSON cell that is not an object under
    a dotted target)."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target


@dataclass(frozen=True, slots=True)
class Mapped:
    """The input as target-field columns, keyed by row number; nothing computed yet."""

    # ROW, PROBLEM_FIELD, PROBLEM, CONTROL (a value may hold a control character), then one
    # column per target field.
    frame: pl.LazyFrame
    # The target columns of `frame`: text, a list of texts, or pl.Object (any value, which
    # the column holds as JSON text: `payload` decodes it).
    targets: dict[str, pl.DataType]
    trimmed: frozenset[str]  # targets whose values are already `models.trim()`med

    def collect(self) -> pl.DataFrame:
        return self.frame.collect()

    def payload(self, values: Sequence[Any]) -> dict[str, Any]:
        """One row's request body from its target values (in `targets` order); an empty value
        gives no key at all (never "" or null).

        Raises:
            CellError: one target is the parent object of another, and its value is no object.
        """
        payload: dict[str, Any] = {}
        for (target, dtype), value in zip(self.targets.items(), values, strict=True):
            if value is not None:
                set_path(payload, target, json.loads(value) if dtype == pl.Object else value)
        return payload


def map_frame(frame: pl.DataFrame, mapping: BoundMapping) -> Mapped:
    """Apply `mapping` to every row of `frame` (the input's frame, or some of its rows: see
    sources/table.py), as one lazy query."""
    columns: dict[str, Column] = {}
    tails: dict[str, pl.Expr] = {}  # element functions, computed once each
    problems: list[tuple[str, pl.Expr]] = [(ROW_FIELD, pl.col(READER_PROBLEM))]
    for rule, sources in mapping.steps:
        problems.extend(_nested_cells(mapping, rule.target, sources, takes=takes_lists(rule)))
        tail = f" tail {len(tails)}"
        column, element = _rule(rule, sources, tail)
        if element is not None:
            tails[tail] = element
        columns[rule.target] = column
        if column.problem is not None:
            problems.append((rule.target, column.problem))
    for name, target in mapping.passthrough:
        problems.extend(_nested_cells(mapping, target, (name,), takes=False))
        cell = pl.col(name)
        columns[target] = Column(TEXT, pl.when(text.has_text(cell)).then(cell))
    query = frame.lazy().with_columns(**tails) if tails else frame.lazy()
    query = query.select(
        pl.col(NUMBER).alias(ROW),
        pl.coalesce([pl.when(p.is_not_null()).then(pl.lit(t)) for t, p in problems]).alias(
            PROBLEM_FIELD
        ),
        pl.coalesce([problem for _, problem in problems]).alias(PROBLEM),
        (pl.lit(True) if _literals_hold_control(mapping) else pl.col(CONTROL)).alias(CONTROL),
        *(column.value.alias(target) for target, column in columns.items()),
    )
    mapped = Mapped(
        frame=query,
        targets={target: _DTYPES[column.kind] for target, column in columns.items()},
        trimmed=frozenset(target for target, column in columns.items() if column.trimmed),
    )
    if _clashing(list(columns)):
        return _with_clashes(mapped)
    return mapped


def _literals_hold_control(mapping: BoundMapping) -> bool:
    """Whether the mapping's own texts (values, defaults, join separators) hold a control
    character: the cells' CONTROL then does not tell whether a value holds one."""
    texts = [
        literal
        for rule, _ in mapping.steps
        for literal in (rule.value, rule.default, rule.separator if rule.join else None)
        if isinstance(literal, str)
    ]
    return bool(texts) and bool(pl.Series(texts).str.contains(text.CONTROL).any())


def _nested_cells(
    mapping: BoundMapping, target: str, sources: tuple[str, ...], *, takes: bool
) -> list[tuple[str, pl.Expr]]:
    """Where a rule meets a list or struct (Parquet) it cannot take as text: a problem."""
    return [
        (target, pl.when(pl.col(name).is_not_null()).then(pl.lit(f"{name}: {kind}, expected text")))
        for name in mapping.nested_columns(sources, takes=takes)
        for kind in [mapping.nested[name]]
    ]


def _rule(rule: FieldRule, sources: tuple[str, ...], tail: str) -> tuple[Column, pl.Expr | None]:
    """One rule on columns: the cells' text (trimmed, blanks skipped, for a join; the first
    filled cell for a coalesce), transformed, or the default when there is none."""
    if rule.value is not None:
        return constant(rule.value), None
    transforms, trimmed = rule.transforms, False
    if rule.join:
        raw, has_text = joined(sources, rule.separator)
        trimmed = True
    elif rule.coalesce:
        raw, has_text = first_filled(sources)
    elif sources:
        raw = pl.col(sources[0])
        if transforms[:1] == ("trim",):
            # The first transform is the trim: its result tells whether there is any text.
            raw, trimmed, transforms = text.trimmed(raw), True, transforms[1:]
            has_text = raw.str.len_bytes() > 0
        else:
            has_text = text.has_text(raw)
    else:
        raw, has_text = pl.lit(None, dtype=pl.String), pl.lit(False)
    column, element = transformed(raw, has_text, transforms, trimmed, tail)
    if rule.default is None:
        present = pl.when(has_text).then(column.value)
        return Column(column.kind, present, column.problem, column.trimmed), element
    default = constant(rule.default)
    if column.kind == default.kind == TEXT:
        filled = pl.when(has_text).then(column.value).otherwise(default.value)
        return Column(TEXT, filled, None, column.trimmed and default.trimmed), element
    # A default of another kind than the values (a number where text is mapped): both as JSON.
    encoded = as_json(column)
    either = pl.when(has_text).then(encoded.value).otherwise(as_json(default).value)
    return Column(JSON, either, encoded.problem), element


def _clashing(targets: list[str]) -> bool:
    """True when one target is the parent object of another ("linkProps" and "linkProps.x")."""
    names = set(targets)
    return any(
        ".".join(target.split(".")[:depth]) in names
        for target in names
        for depth in range(1, target.count(".") + 1)
    )


def _with_clashes(mapped: Mapped) -> Mapped:
    """The rows whose values do not nest (a parent target's value is no object) get that
    problem, unless they have one already: `Mapped.payload` decides, row by row."""
    targets = list(mapped.targets)

    def clash(series: pl.Series) -> pl.Series:
        found: list[dict[str, str] | None] = []
        for record in series.to_list():
            try:
                mapped.payload([record[target] for target in targets])
                found.append(None)
            except CellError as exc:
                found.append({"field": exc.target, "message": str(exc)})
        return pl.Series(found, dtype=pl.Struct({"field": pl.String, "message": pl.String}))

    checked = pl.struct(targets).map_batches(
        clash,
        return_dtype=pl.Struct({"field": pl.String, "message": pl.String}),
        is_elementwise=True,
    )
    frame = mapped.frame.with_columns(checked.alias(" clash")).with_columns(
        pl.coalesce(PROBLEM_FIELD, pl.col(" clash").struct.field("field")).alias(PROBLEM_FIELD),
        pl.coalesce(PROBLEM, pl.col(" clash").struct.field("message")).alias(PROBLEM),
    )
    return Mapped(frame.drop(" clash"), mapped.targets, mapped.trimmed)


def set_path(payload: dict[str, Any], target: str, value: Any) -> None:
    """Set `value` at a dotted `target`, creating the nested objects on the way."""
    *parents, leaf = target.split(".")
    node = payload
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # `linkProps` from a JSON cell that is not an object
            raise CellError(target, f"{part} is {type(child).__name__}, not an object")
        node = child
    node[leaf] = value
