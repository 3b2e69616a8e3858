"""Field types shared by provider schemas: emails, lengths counted as the providers count.

Each check is a small frozen dataclass that pydantic calls on one value (as an AfterValidator) and
that states what it checks as plain data: a limit, a pattern, a set of values. The columnar
validator (sync/columnar/checks.py) reads that data to run the same check on a whole column, so a
schema built from these types is validated at column speed with no second statement of its rules.
Any other validator works as well; rows that need one are validated one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

# The "practical" email pattern of zod 4's z.email(), the check Dub's API applies; a stricter RFC
# parser would reject addresses the providers accept, a looser one would let 422s through.
# Written without look-arounds (no leading dot, no "..") so that polars' engine reads it too.
EMAIL_BODY = (
    r"(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+\-]"
    r"@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}"
)
EMAIL_PATTERN = re.compile(f"^(?:{EMAIL_BODY})$")


def utf16_length(value: str) -> int:
    """Length in UTF-16 code units, the unit JavaScript-based APIs count in (an emoji is 2)."""
    return len(value.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class MaxUtf16:
    """At most `limit` UTF-16 code units."""

    limit: int

    def __call__(self, value: str) -> str:
        length = utf16_length(value)
        if length > self.limit:
            raise ValueError(f"at most {self.limit} characters allowed, got {length}")
        return value


def max_utf16(limit: int) -> MaxUtf16:
    return MaxUtf16(limit)


@dataclass(frozen=True, slots=True)
class FullMatch:
    """The whole value matches `pattern`.

    The pattern uses only literal characters, escaped punctuation, `\\uXXXX` escapes, classes,
    groups and repetition, which Python's `re` and polars' engine read alike (tests prove it).
    `message` may name the value as `{value!r}`.
    """

    pattern: str
    message: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def __call__(self, value: str) -> str:
        if self._compiled.fullmatch(value) is None:
            raise ValueError(self.message.format(value=value))
        return value


@dataclass(frozen=True, slots=True)
class OneOf:
    """The value is one of `values`; `message` may name it as `{value!r}`."""

    values: frozenset[str] = field(repr=False)
    message: str

    def __call__(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(self.message.format(value=value))
        return value


@dataclass(frozen=True, slots=True)
class NoPrefix:
    """The value starts with none of `prefixes`."""

    prefixes: tuple[str, ...]
    message: str

    def __call__(self, value: str) -> str:
        if value.startswith(self.prefixes):
            raise ValueError(self.message)
        return value


@dataclass(frozen=True, slots=True)
class NoSuffix:
    """The value ends with none of `suffixes`."""

    suffixes: tuple[str, ...]
    message: str

    def __call__(self, value: str) -> str:
        if value.endswith(self.suffixes):
            raise ValueError(self.message)
        return value


@dataclass(frozen=True, slots=True)
class NotEmpty:
    """The value is not the empty string."""

    message: str = "must not be empty"

    def __call__(self, value: str) -> str:
        if not value:
            raise ValueError(self.message)
        return value


check_email = FullMatch(EMAIL_BODY, "{value!r} is not a valid email address")


def trim(value: object) -> object:
    """`str.strip()` for text; anything else is left for the type check to refuse."""
    return value.strip() if isinstance(value, str) else value


_strip = trim  # the name earlier schemas used

# Trimmed before the format check: Dub rejects " a@b.co " (it checks before trimming), so the
# tool sends every email trimmed.
Email = Annotated[str, BeforeValidator(trim), AfterValidator(check_email)]
TrimmedStr = Annotated[str, BeforeValidator(trim)]
