"""Each field-constraint class of `sync.providers.fields`, and pydantic's own length bounds, as a
column expression: the same check as the class's `__call__`, on a whole polars column.

`column_check` is what `schema_checks` asks for each step of a field's metadata; a step with no
expression here makes the field one that only pydantic can judge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import annotated_types
import polars as pl
from pydantic.functional_validators import AfterValidator

from sync import text
from sync.providers.fields import (
    EmailAddress,
    Excludes,
    FullMatch,
    MaxUtf16,
    NoPrefix,
    NoSuffix,
    NotEmpty,
    OneOf,
    PasswordPolicy,
    SingleLine,
)

Check = Callable[[pl.Expr], pl.Expr]


def _length_check(
    step: Any, length: Check, at_most: Callable[[pl.Expr, int], pl.Expr]
) -> Check | None:
    """A MinLen bound on `length` of the value, or a MaxLen one (`at_most(value, limit)`);
    None for any other step."""
    if isinstance(step, annotated_types.MinLen):
        shortest = step.min_length
        return lambda value: length(value) >= shortest
    if isinstance(step, annotated_types.MaxLen):
        longest = step.max_length
        return lambda value: at_most(value, longest)
    return None


def list_check(step: Any) -> Check | None:
    def items(value: pl.Expr) -> pl.Expr:
        return value.list.len()

    return _length_check(step, items, lambda value, limit: items(value) <= limit)


def column_check(step: Any) -> Check | None:
    """The column expression of one check, or None when it has none."""
    bound = _length_check(
        step, _characters, lambda value, limit: text.at_most(value, limit, _characters)
    )
    if bound is not None or not isinstance(step, AfterValidator):
        return bound
    compile_rule = _COLUMN_CHECKS.get(type(step.func))
    return compile_rule(step.func) if compile_rule is not None else None


def _characters(value: pl.Expr) -> pl.Expr:
    return value.str.len_chars()


def _max_utf16(rule: MaxUtf16) -> Check:
    return lambda value: text.at_most(value, rule.limit, text.utf16_length)


def _email(rule: EmailAddress) -> Check | None:
    if not text.compiles(rule.pattern):
        return None
    return lambda value: (
        text.at_most(value, rule.longest, _characters) & text.full_match(value, rule.pattern)
    )


def _full_match(rule: FullMatch) -> Check | None:
    if not text.compiles(rule.pattern):
        return None
    return lambda value: text.full_match(value, rule.pattern)


def _one_of(rule: OneOf) -> Check:
    allowed = sorted(rule.values)
    return lambda value: value.is_in(allowed)


def _no_prefix(rule: NoPrefix) -> Check:
    return lambda value: (
        ~pl.any_horizontal(*(value.str.starts_with(prefix) for prefix in rule.prefixes))
    )


def _no_suffix(rule: NoSuffix) -> Check:
    return lambda value: (
        ~pl.any_horizontal(*(value.str.ends_with(suffix) for suffix in rule.suffixes))
    )


def _excludes(rule: Excludes) -> Check:
    return lambda value: (
        ~pl.any_horizontal(*(value.str.contains(char, literal=True) for char in rule.chars))
    )


def _password(rule: PasswordPolicy) -> Check:
    # Python's islower/isupper/isnumeric: ASCII letters and digits in columns, any value beyond
    # ASCII by the rule itself.
    def ascii_ok(value: pl.Expr) -> pl.Expr:
        return (
            (value.str.len_chars() >= rule.min_length)
            & value.str.contains("[a-z]")
            & value.str.contains("[A-Z]")
            & value.str.contains("[0-9]")
        )

    return lambda value: (
        pl.when(text.is_ascii(value))
        .then(ascii_ok(value))
        .otherwise(_python_test(value, lambda password: not rule.missing(password)))
    )


def _python_test(value: pl.Expr, test: Callable[[str], bool]) -> pl.Expr:
    """`test` called on every value beyond ASCII (the few no kernel can judge); null for the
    others."""

    def apply(series: pl.Series) -> pl.Series:
        others = (series.str.len_bytes() != series.str.len_chars()).fill_null(False).arg_true()
        found = pl.Series([None] * series.len(), dtype=pl.Boolean)
        if others.len() == 0:
            return found
        tests = [test(item) for item in series.gather(others).to_list()]
        return found.scatter(others, pl.Series(tests, dtype=pl.Boolean))

    return value.map_batches(apply, return_dtype=pl.Boolean, is_elementwise=True)


# Each field-constraint class and its column expression (None: it has none for this rule).
_COLUMN_CHECKS: dict[type, Callable[[Any], Check | None]] = {
    MaxUtf16: _max_utf16,
    EmailAddress: _email,
    SingleLine: lambda _rule: lambda value: ~value.str.contains(r"[\n\r]"),
    FullMatch: _full_match,
    OneOf: _one_of,
    NoPrefix: _no_prefix,
    NoSuffix: _no_suffix,
    NotEmpty: lambda _rule: lambda value: value.str.len_bytes() > 0,
    Excludes: _excludes,
    PasswordPolicy: _password,
}
