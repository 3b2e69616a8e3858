"""A bound mapping applied to whole columns: the columnar twin of `BoundMapping.apply`.

Each target field becomes one column: text, or a list of texts after `split`. A null cell means
"no key at all", as an empty cell does row by row. Values that are neither (a `json` or `bool`
transform, a constant that is not text) are not put in columns: the rows that get such a value
are marked `per_row`, and the row-by-row mapping builds their payload exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from sync.columnar import text
from sync.mapping import BoundMapping, FieldRule

ROW = "row"  # the 1-based data row number
PER_ROW = "per_row"  # the row needs the row-by-row path

_TEXT, _LIST, _OPAQUE = "text", "list", "opaque"


@dataclass(frozen=True, slots=True)
class Mapped:
    """The input as target-field columns, keyed by row number; nothing computed yet."""

    frame: pl.LazyFrame  # ROW, PER_ROW, then one column per target field
    targets: dict[str, pl.DataType]  # the target columns of `frame`: text or list of texts

    def collect(self) -> pl.DataFrame:
        return self.frame.collect()


def map_frame(frame: pl.DataFrame, mapping: BoundMapping) -> Mapped:
    """Apply `mapping` to every row of `frame` (all columns text), as one lazy query."""
    columns: dict[str, pl.Expr] = {}
    kinds: dict[str, pl.DataType] = {}
    per_row: list[pl.Expr] = []
    for rule, sources in mapping.steps:
        kind, value, present = _rule(rule, sources)
        if kind == _OPAQUE:
            per_row.append(present)
        else:
            columns[rule.target] = value
            kinds[rule.target] = pl.List(pl.String) if kind == _LIST else pl.String()
    for column, target in mapping.passthrough:
        cell = pl.col(column)
        columns[target] = pl.when(~text.is_blank(cell)).then(cell)
        kinds[target] = pl.String()
    if _clashing(list(columns) + [rule.target for rule, _ in mapping.steps]):
        per_row.append(pl.lit(True))  # "a" and "a.b" both set: left to the row-by-row path
    flag = pl.any_horizontal(*per_row) if per_row else pl.lit(False)
    result = frame.lazy().select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW),
        flag.fill_null(True).alias(PER_ROW),
        *(expression.alias(target) for target, expression in columns.items()),
    )
    return Mapped(frame=result, targets=kinds)


def _rule(rule: FieldRule, sources: tuple[str, ...]) -> tuple[str, pl.Expr, pl.Expr]:
    """(kind, value, present) for one rule, as `mapping._rule_value` computes it per row."""
    if rule.value is not None:
        if isinstance(rule.value, str):
            return _TEXT, pl.lit(rule.value, dtype=pl.String), pl.lit(True)
        return _OPAQUE, pl.lit(None), pl.lit(True)
    has_text = (
        pl.any_horizontal(*(~text.is_blank(pl.col(name)) for name in sources))
        if sources
        else pl.lit(False)
    )
    if rule.join:
        parts = [
            pl.when(~text.is_blank(pl.col(name))).then(text.strip(pl.col(name))) for name in sources
        ]
        raw = (
            pl.concat_str(parts, separator=rule.separator, ignore_nulls=True)
            if parts
            else pl.lit(None, dtype=pl.String)
        )
    else:
        raw = pl.col(sources[0]) if sources else pl.lit(None, dtype=pl.String)
    kind, value = _transformed(raw, rule.transforms)
    present = has_text if rule.default is None else pl.lit(True)
    if kind == _OPAQUE:
        return _OPAQUE, value, present
    if rule.default is None:
        return kind, pl.when(has_text).then(value), present
    if kind == _TEXT and isinstance(rule.default, str):
        default = pl.lit(rule.default, dtype=pl.String)
        return kind, pl.when(has_text).then(value).otherwise(default), present
    return _OPAQUE, value, present


def _transformed(value: pl.Expr, names: tuple[str, ...]) -> tuple[str, pl.Expr]:
    """Apply transforms in order; like the row path, stop after the first non-text result."""
    for name in names:
        if name == "split":
            parts = value.str.split(",").list.eval(text.strip(pl.element()))
            return _LIST, parts.list.eval(pl.element().filter(pl.element() != ""))
        transform = _TEXT_TRANSFORMS.get(name)
        if transform is None:
            return _OPAQUE, value  # json, bool: values that are not text
        value = transform(value)
    return _TEXT, value


def _title(value: pl.Expr) -> pl.Expr:
    # polars' title case differs from Python's ("o'neil" -> "O'Neil"): Python does it.
    return value.map_batches(text.python_map(str.title), return_dtype=pl.String)


_TEXT_TRANSFORMS: dict[str, Any] = {
    "trim": text.strip,
    "lower": text.lower,
    "upper": text.upper,
    "title": _title,
    "collapse_spaces": text.collapse_spaces,
}


def _clashing(targets: list[str]) -> bool:
    """True when one target is the parent object of another ("linkProps" and "linkProps.x")."""
    names = set(targets)
    return any(
        ".".join(target.split(".")[:depth]) in names
        for target in names
        for depth in range(1, target.count(".") + 1)
    )
