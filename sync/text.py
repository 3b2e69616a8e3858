"""Python's string semantics on polars columns: whitespace, case, UTF-16 length, email keys.

polars' own string kernels differ from Python's in small ways that matter here: `strip_chars()`
keeps the separators U+001C..U+001F that `str.strip()` removes, and its case tables follow a newer
Unicode version than Python's. The helpers below give Python's answer for every value, using the
fast kernels where both agree (ASCII) and Python itself for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import polars as pl

from sync.models import INVISIBLE, email_key

# Every character `str.strip()` and `str.split()` treat as whitespace.
# None is above U+3000 (tests/unit/test_text.py asks every code point), so the search stops
# there: searching all of Unicode took a tenth of a second at every start.
LAST_WHITESPACE = 0x3000
WHITESPACE = "".join(chr(code) for code in range(LAST_WHITESPACE + 1) if chr(code).isspace())


def _regex_class(chars: str) -> str:
    """A regex class of exactly these characters, each written as its code point."""
    return "[" + "".join(f"\\x{{{ord(char):x}}}" for char in chars) + "]"


_WHITESPACE_RUN = _regex_class(WHITESPACE) + "+"


def strip(column: pl.Expr) -> pl.Expr:
    """`str.strip()`, value by value."""
    return column.str.strip_chars(WHITESPACE)


def trimmed(column: pl.Expr) -> pl.Expr:
    """`models.trim()`, value by value: it removes every whitespace or invisible character at
    either end, which is what stripping that set of characters does."""
    return column.str.strip_chars(WHITESPACE + INVISIBLE)


# Control characters (category Cc) other than tab, line feed and carriage return: a row holding
# one is invalid, and it is left to the schema to say so (row_messages.py words it).
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}"  # the inside of a regex class
CONTROL = f"[{CONTROL_CHARACTERS}]"


# A value `models.trim()` leaves empty: only whitespace and invisible characters. Asking this
# of the regex reads a value up to its first other character and builds nothing, where
# trimming builds every trimmed value (a third of the time, measured on a million values).
_ONLY_TRIMMED_AWAY = f"^{_regex_class(WHITESPACE + INVISIBLE)}*$"


def has_text(column: pl.Expr) -> pl.Expr:
    """True where `trimmed(column)` is not empty (null where the value is null)."""
    return ~column.str.contains(_ONLY_TRIMMED_AWAY)


def collapse_spaces(column: pl.Expr) -> pl.Expr:
    """`" ".join(value.split())`: runs of whitespace become one space, ends trimmed."""
    return strip(column).str.replace_all(_WHITESPACE_RUN, " ")


def is_ascii(column: pl.Expr) -> pl.Expr:
    """True where every character is ASCII (one byte each), which is where polars' case and
    Python's case agree."""
    return column.str.len_bytes() == column.str.len_chars()


def python_exact(
    function: Callable[[str], str], kernel: Callable[[pl.Series], pl.Series]
) -> Callable[[pl.Series], pl.Series]:
    """A batch function giving `function`'s result for every value: `kernel` computes ASCII
    values, Python computes the (usually few) others."""

    def apply(series: pl.Series) -> pl.Series:
        return exact_beyond_ascii(series, kernel(series), function)

    return apply


def exact_beyond_ascii(
    values: pl.Series, fast: pl.Series, function: Callable[[str], str]
) -> pl.Series:
    """`fast`, a kernel's result for `values` (right for the ASCII ones), with `function`'s
    result for every value beyond ASCII."""
    bytes_, chars = values.str.len_bytes(), values.str.len_chars()
    if bytes_.sum() == chars.sum():  # every value is ASCII
        return fast
    others = (bytes_ != chars).arg_true()
    computed = [function(value) for value in values.gather(others).to_list()]
    return fast.scatter(others, pl.Series(computed, dtype=pl.String))


def lower(column: pl.Expr) -> pl.Expr:
    """`str.lower()`, value by value."""
    return column.map_batches(
        python_exact(str.lower, lambda value: value.str.to_lowercase()),
        return_dtype=pl.String,
        is_elementwise=True,
    )


def upper(column: pl.Expr) -> pl.Expr:
    """`str.upper()`, value by value."""
    return column.map_batches(
        python_exact(str.upper, lambda value: value.str.to_uppercase()),
        return_dtype=pl.String,
        is_elementwise=True,
    )


def python_map(function: Callable[[str], str]) -> Callable[[pl.Series], pl.Series]:
    """A batch function calling `function` on every value (for transforms with no kernel)."""

    def apply(series: pl.Series) -> pl.Series:
        values = [None if value is None else function(value) for value in series.to_list()]
        return pl.Series(values, dtype=pl.String)

    return apply


# Printable ASCII without capitals: trimming and case-folding leave such an email as it is.
_OWN_KEY = r"^[!-@\[-~]*$"


def is_own_key(column: pl.Expr) -> pl.Expr:
    """True where the value is its own `models.email_key` for certain, found without
    computing the key (null where the value is null)."""
    return column.str.contains(_OWN_KEY)


_Texts = TypeVar("_Texts", pl.Series, pl.Expr)


def ascii_email_keys(values: _Texts, *, trimmed: bool = False) -> _Texts:
    """`models.email_key` of the ASCII values (there, trimming is stripping whitespace and
    case-folding is lowering), in polars alone: in a streaming query it runs on every core,
    where a Python function holds the GIL for each morsel. `exact_email_keys` then keys the
    others."""
    return (values if trimmed else values.str.strip_chars(WHITESPACE)).str.to_lowercase()


def email_keys(column: pl.Expr, *, trimmed: bool = False) -> pl.Expr:
    """`models.email_key` (trimmed, case-folded) for every value; `trimmed` when the values are
    known to be trimmed already."""
    return column.map_batches(
        python_exact(email_key, lambda values: ascii_email_keys(values, trimmed=trimmed)),
        return_dtype=pl.String,
        is_elementwise=True,
    )


def exact_email_keys(emails: pl.Series, keys: pl.Series) -> pl.Series:
    """`keys` (`ascii_email_keys` of `emails`) with every email beyond ASCII keyed exactly."""
    return exact_beyond_ascii(emails, keys, email_key)


_ASTRAL = r"[\x{10000}-\x{10FFFF}]"  # the characters UTF-16 writes with two units


def utf16_length(column: pl.Expr) -> pl.Expr:
    """`fields.utf16_length`, value by value: one unit per character, two for a character
    beyond U+FFFF (four UTF-8 bytes)."""
    chars = column.str.len_chars()
    # A four-byte character makes bytes exceed chars by 3: only such values are searched (a
    # null is not), and all in polars itself: a Python function here held the GIL for every
    # batch of every such column.
    maybe = (column.str.len_bytes() - chars) >= 3
    astral = pl.when(maybe).then(column).str.count_matches(_ASTRAL).fill_null(0)
    return chars + astral


def at_most(column: pl.Expr, limit: int, length: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`length(value) <= limit` for every value, where `length` counts characters or UTF-16
    units: neither exceeds the UTF-8 byte count, which polars holds beside each value, so only
    the values of more than `limit` bytes are measured (null where the value is null)."""
    short = column.str.len_bytes() <= limit
    return short | (length(pl.when(~short).then(column)) <= limit)


def full_match(column: pl.Expr, pattern: str) -> pl.Expr:
    """`re.fullmatch(pattern, value)`, for patterns both engines read alike (fields.FullMatch)."""
    return column.str.contains(f"^(?:{pattern})$")


def compiles(pattern: str) -> bool:
    """Whether polars' regex engine accepts `pattern` (Python's may accept more)."""
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.ComputeError:
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
