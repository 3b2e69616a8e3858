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
from sync.mapping import BoundMapping, FieldRule, takes_lists
from sync.models import trim
from sync.sources.table import NUMBER

ROW = "row"  # the 1-based data row number
PER_ROW = "per_row"  # the row needs the row-by-row path

_TEXT, _LIST, _OPAQUE = "text", "list", "opaque"


@dataclass(frozen=True, slots=True)
class Mapped:
    """The input as target-field columns, keyed by row number; nothing computed yet."""

    frame: pl.LazyFrame  # ROW, PER_ROW, then one column per target field
    targets: dict[str, pl.DataType]  # the target columns of `frame`: text or list of texts
    trimmed: frozenset[str]  # targets whose values are already `models.trim()`med

    def collect(self) -> pl.DataFrame:
        return self.frame.collect()


@dataclass(frozen=True, slots=True)
class _Column:
    """One rule's result: its kind, its value, when it is present, and whether it is trimmed."""

    kind: str
    value: pl.Expr
    present: pl.Expr
    trimmed: bool = False
    by_row: pl.Expr | None = None  # true where the row path must compute this value


def map_frame(frame: pl.DataFrame, mapping: BoundMapping) -> Mapped:
    """Apply `mapping` to every row of `frame` (the input's frame, or some of its rows: see
    sources/table.py), as one lazy query."""
    columns: dict[str, pl.Expr] = {}
    kinds: dict[str, pl.DataType] = {}
    trimmed: set[str] = set()
    per_row: list[pl.Expr] = []
    for rule, sources in mapping.steps:
        per_row.extend(_nested_cells(mapping, sources, takes=takes_lists(rule)))
        result = _rule(rule, sources)
        if result.kind == _OPAQUE:
            per_row.append(result.present.fill_null(False))  # null: a missing cell, no value
            continue
        columns[rule.target] = result.value
        if result.by_row is not None:
            per_row.append(result.by_row.fill_null(False))
        kinds[rule.target] = pl.List(pl.String) if result.kind == _LIST else pl.String()
        if result.trimmed:
            trimmed.add(rule.target)
    for column, target in mapping.passthrough:
        per_row.extend(_nested_cells(mapping, (column,), takes=False))
        cell = pl.col(column)
        columns[target] = pl.when(text.trimmed(cell).str.len_bytes() > 0).then(cell)
        kinds[target] = pl.String()
    if _clashing(list(columns) + [rule.target for rule, _ in mapping.steps]):
        per_row.append(pl.lit(True))  # "a" and "a.b" both set: left to the row-by-row path
    flag = pl.any_horizontal(*per_row) if per_row else pl.lit(False)
    query = frame.lazy().select(
        pl.col(NUMBER).alias(ROW),
        flag.fill_null(True).alias(PER_ROW),
        *(expression.alias(target) for target, expression in columns.items()),
    )
    return Mapped(frame=query, targets=kinds, trimmed=frozenset(trimmed))


def _nested_cells(mapping: BoundMapping, sources: tuple[str, ...], *, takes: bool) -> list[pl.Expr]:
    """Where a rule meets a list or struct it cannot take: the row path refuses those rows."""
    return [pl.col(name).is_not_null() for name in mapping.nested_columns(sources, takes=takes)]


def _rule(rule: FieldRule, sources: tuple[str, ...]) -> _Column:
    """One rule on columns, as `mapping._rule_value` computes it per row: the cells' text
    (trimmed, blanks skipped, for a join), transformed, or the default when there is none."""
    if rule.value is not None:
        if isinstance(rule.value, str):
            return _Column(_TEXT, pl.lit(rule.value, dtype=pl.String), pl.lit(True))
        return _Column(_OPAQUE, pl.lit(None), pl.lit(True))
    transforms = rule.transforms
    if rule.join:
        stripped = [text.trimmed(pl.col(name)) for name in sources]
        parts = [pl.when(part.str.len_bytes() > 0).then(part) for part in stripped]
        joined = (
            pl.concat_str(parts, separator=rule.separator, ignore_nulls=True)
            if parts
            else pl.lit("", dtype=pl.String)
        )
        # Parts are trimmed and non-empty: the joined text is empty only when all are blank,
        # and it starts and ends with a part, so it is trimmed.
        has_text, raw, trimmed = joined.str.len_bytes() > 0, joined, True
    elif rule.coalesce:
        # The first cell that is not blank, as it is (transforms apply to it as written).
        picks = [
            pl.when(text.trimmed(pl.col(name)).str.len_bytes() > 0).then(pl.col(name))
            for name in sources
        ]
        raw = pl.coalesce(picks) if picks else pl.lit(None, dtype=pl.String)
        has_text, trimmed = raw.is_not_null(), False
    elif sources:
        cell = pl.col(sources[0])
        stripped_cell = text.trimmed(cell)
        has_text = stripped_cell.str.len_bytes() > 0
        raw, trimmed = cell, False
        if transforms[:1] == ("trim",):
            # The first transform is the trim the blank test computed already.
            raw, trimmed, transforms = stripped_cell, True, transforms[1:]
    else:
        has_text, raw, trimmed = pl.lit(False), pl.lit(None, dtype=pl.String), False
    kind, value, trimmed, by_row = _transformed(raw, transforms, trimmed)
    if by_row is not None:
        by_row = has_text & by_row  # a blank cell gives no value: nothing to compute
    present = has_text if rule.default is None else pl.lit(True)
    if kind == _OPAQUE:
        return _Column(_OPAQUE, value, present)
    if rule.default is None and rule.join and kind == _TEXT:
        # Text transforms keep "" empty and the rest not: an empty join is "no value". (Half
        # the cost of testing the joined text again.)
        return _Column(kind, value.replace("", None), present, trimmed)
    if rule.default is None:
        return _Column(kind, pl.when(has_text).then(value), present, trimmed, by_row)
    if kind == _TEXT and isinstance(rule.default, str):
        default = pl.lit(rule.default, dtype=pl.String)
        value = pl.when(has_text).then(value).otherwise(default)
        same = trimmed and rule.default == trim(rule.default)
        return _Column(kind, value, present, same, by_row)
    return _Column(_OPAQUE, value, present)


def _transformed(
    value: pl.Expr, names: tuple[str, ...], trimmed: bool
) -> tuple[str, pl.Expr, bool, pl.Expr | None]:
    """Apply transforms in order; like the row path, stop after the first non-text result.

    The last item is true where the row path must compute the value (None: nowhere)."""
    for name in names:
        if name == "split":
            # Each part is trimmed with models.trim(), which is str.strip() on ASCII text; a
            # value beyond ASCII is split row by row.
            parts = value.str.split(",").list.eval(text.strip(pl.element()))
            parts = parts.list.eval(pl.element().filter(pl.element() != ""))
            return _LIST, parts, False, ~text.is_ascii(value)
        transform = _TEXT_TRANSFORMS.get(name)
        if transform is None:
            return _OPAQUE, value, False, None  # json, bool: values that are not text
        value = transform(value)
        trimmed = name in ("trim", "collapse_spaces")
    return _TEXT, value, trimmed, None


def _title(value: pl.Expr) -> pl.Expr:
    # polars' title case differs from Python's ("o'neil" -> "O'Neil"): Python does it.
    return value.map_batches(
        text.python_map(str.title), return_dtype=pl.String, is_elementwise=True
    )


_TEXT_TRANSFORMS: dict[str, Any] = {
    "trim": text.trimmed,
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
