"""One mapping rule as column expressions: where its value comes from, its transforms, its default.

Every transform is a column expression (text.py gives Python's string semantics on columns).
The ones whose result is not text (`json`, `bool`), and whatever follows them, run as element
functions inside the same query: a value that is not text is carried as its JSON text (kind
JSON), and a cell a transform cannot take (bad JSON) gives the row a problem instead of a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import polars as pl

from sync import text
from sync.models import trim

TEXT, LIST, JSON = "text", "list", "json"

# Why each exists: exports trail spaces, shout, and pack lists into one cell.
TRANSFORM_NAMES = ("trim", "lower", "upper", "title", "collapse_spaces", "split", "json", "bool")

_TRUE = ["1", "true", "yes", "y", "on"]
_VALUE, _PROBLEM = "value", "problem"


@dataclass(frozen=True, slots=True)
class Column:
    """One rule's result on columns.

    `value` is text (TEXT), a list of texts (LIST) or the JSON text of any value (JSON); None
    where the row gives no value. `problem` says why a row's cell could not be taken (None:
    no row can have one); `trimmed` that the values (each item of a list) are `models.trim()`med
    already.
    """

    kind: str
    value: pl.Expr
    problem: pl.Expr | None = None
    trimmed: bool = False


def constant(value: Any) -> Column:
    """A rule's `value`: used as it is, never transformed."""
    if isinstance(value, str):
        return Column(TEXT, pl.lit(value, dtype=pl.String), trimmed=value == trim(value))
    return Column(JSON, pl.lit(_json_text(value), dtype=pl.String))


def joined(sources: tuple[str, ...], separator: str) -> tuple[pl.Expr, pl.Expr]:
    """The cells' texts trimmed, blanks skipped, joined; and where there is any."""
    stripped = [text.trimmed(pl.col(name)) for name in sources]
    parts = [pl.when(part.str.len_bytes() > 0).then(part) for part in stripped]
    if not parts:
        return pl.lit(None, dtype=pl.String), pl.lit(False)
    value = pl.concat_str(parts, separator=separator, ignore_nulls=True)
    # Parts are trimmed and non-empty: the joined text has text when any part does, and it
    # starts and ends with a part, so it is trimmed.
    return value, pl.any_horizontal(part.is_not_null() for part in parts)


def first_filled(sources: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """The first cell that is not blank, as it is (transforms apply to it as written)."""
    picks = [pl.when(text.has_text(pl.col(name))).then(pl.col(name)) for name in sources]
    value = pl.coalesce(picks) if picks else pl.lit(None, dtype=pl.String)
    return value, value.is_not_null()


def transformed(
    value: pl.Expr, has_text: pl.Expr, names: tuple[str, ...], trimmed: bool, tail: str
) -> tuple[Column, pl.Expr | None]:
    """Apply transforms in order; after the first whose result is not text (split, json, bool)
    only a text result (a JSON string) is transformed further.

    From a `json` transform on, the rest run as one element function, whose struct (value,
    problem) the query computes once into the column named `tail`: the second item returned,
    None when there is none."""
    for index, name in enumerate(names):
        if name == "split":
            parts = value.str.split(",").list.eval(text.trimmed(pl.element()))
            items = parts.list.filter(pl.element() != "")
            return Column(LIST, items, trimmed=True), None  # every item is trimmed
        if name == "bool":
            is_true = text.lower(text.strip(value)).is_in(_TRUE)
            return Column(
                JSON, pl.when(is_true).then(pl.lit("true")).otherwise(pl.lit("false"))
            ), None
        if name == "json":
            rest = names[index:]
            element = (
                pl.when(has_text)
                .then(value)
                .map_batches(
                    partial(_run_tail, names=rest),
                    return_dtype=pl.Struct({_VALUE: pl.String, _PROBLEM: pl.String}),
                    is_elementwise=True,
                )
            )
            result = pl.col(tail).struct
            return Column(JSON, result.field(_VALUE), result.field(_PROBLEM)), element
        value = _TEXT_TRANSFORMS[name](value)
        # collapse_spaces strips whitespace only: a trimmed value stays trimmed, but a value
        # with a zero-width space at one end keeps it.
        trimmed = name == "trim" or (name == "collapse_spaces" and trimmed)
    return Column(TEXT, value, trimmed=trimmed), None


def _run_tail(series: pl.Series, names: tuple[str, ...]) -> pl.Series:
    results = [None if cell is None else _tail_of(cell, names) for cell in series.to_list()]
    return pl.Series(
        results, dtype=pl.Struct({_VALUE: pl.String, _PROBLEM: pl.String}), strict=False
    )


def _tail_of(cell: str, names: tuple[str, ...]) -> dict[str, str | None]:
    value: Any = cell
    for name in names:
        if not isinstance(value, str):
            break
        try:
            value = _ELEMENT_TRANSFORMS[name](value)
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            return {_VALUE: None, _PROBLEM: f"cannot apply {name}: {exc}"}
    return {_VALUE: _json_text(value), _PROBLEM: None}


def as_json(column: Column) -> Column:
    """The same values as JSON text (for a rule whose default is of another kind)."""
    if column.kind == JSON:
        return column
    dtype = pl.List(pl.String) if column.kind == LIST else pl.String
    encoded = column.value.cast(dtype).map_batches(
        lambda series: pl.Series(
            [None if v is None else _json_text(v) for v in series.to_list()], dtype=pl.String
        ),
        return_dtype=pl.String,
        is_elementwise=True,
    )
    return Column(JSON, encoded, column.problem)


def _json_text(value: Any) -> str:
    # A TOML date or time has no JSON form: it is sent as its text.
    return json.dumps(value, ensure_ascii=False, default=str)


def _title(value: pl.Expr) -> pl.Expr:
    # polars' title case differs from Python's ("o'neil" -> "O'Neil"): Python does it.
    return value.map_batches(
        text.python_map(str.title), return_dtype=pl.String, is_elementwise=True
    )


_TEXT_TRANSFORMS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "trim": text.trimmed,
    "lower": text.lower,
    "upper": text.upper,
    "title": _title,
    "collapse_spaces": text.collapse_spaces,
}

# The transforms as element functions, for what follows a `json` transform (which may give
# text back: a JSON string).
_ELEMENT_TRANSFORMS: dict[str, Callable[[str], Any]] = {
    "trim": trim,
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "collapse_spaces": lambda value: " ".join(value.split()),
    "split": lambda value: [part for part in map(trim, value.split(",")) if part],
    "json": json.loads,
    "bool": lambda value: value.strip().lower() in _TRUE,
}
