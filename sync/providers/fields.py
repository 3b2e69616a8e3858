"""Field types shared by provider schemas: emails, lengths counted as the providers count.

Each check is a small frozen dataclass that pydantic calls on one value (as an AfterValidator) and
that states what it checks as plain data: a limit, a pattern, a set of values. The column
checks (sync/schema_checks.py, sync/constraint_columns.py) read that data to run the same check
on a whole column, so a schema built from these types is validated at column speed with no
second statement of its rules. A field whose validator has no column expression is judged by
pydantic, one row at a time, for the rows that give it a value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from sync.models import trim as trim_text

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
    if value.isascii():  # known without reading the text: one unit per character
        return len(value)
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
    `message` may name the value as `{value}` (quoted and cut short, see `shorten`).
    """

    pattern: str
    message: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def __call__(self, value: str) -> str:
        if self._compiled.fullmatch(value) is None:
            raise ValueError(self.message.format(value=shorten(value)))
        return value


@dataclass(frozen=True, slots=True)
class OneOf:
    """The value is one of `values`; `message` may name it as `{value}` (as in FullMatch)."""

    values: frozenset[str] = field(repr=False)
    message: str

    def __call__(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(self.message.format(value=shorten(value)))
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
class Excludes:
    """The value holds none of the characters of `chars`."""

    chars: str
    message: str

    def __call__(self, value: str) -> str:
        if any(char in value for char in self.chars):
            raise ValueError(self.message)
        return value


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """At least `min_length` characters, with a lowercase letter, an uppercase letter and a
    digit (Python's `islower`, `isupper`, `isnumeric`). The message names what is missing,
    never the value: it ends up in reports and logs."""

    min_length: int
    name: str  # whose policy it is, for the message

    def missing(self, value: str) -> list[str]:
        missing = []
        if len(value) < self.min_length:
            missing.append(f"at least {self.min_length} characters")
        if not any(char.islower() for char in value):
            missing.append("a lowercase letter")
        if not any(char.isupper() for char in value):
            missing.append("an uppercase letter")
        if not any(char.isnumeric() for char in value):
            missing.append("a digit")
        return missing

    def __call__(self, value: str) -> str:
        missing = self.missing(value)
        if missing:
            raise ValueError(f"needs {', '.join(missing)} ({self.name}'s password policy)")
        return value


@dataclass(frozen=True, slots=True)
class SplitText:
    """A text value is a list of the parts between `separator`s, each `str.strip()`ped, blank
    parts left out (a roster cell "a, b" is two tags, as the mapping's `split` makes it); a list
    is taken as it is. Used as a BeforeValidator of a list field."""

    separator: str = ","

    def __call__(self, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(self.separator) if part.strip()]
        return value


@dataclass(frozen=True, slots=True)
class NamesOne:
    """A model-wide check (an "after" model validator) that at least one of `fields` is set.

    An object that the mapping builds from dotted fields (`referring_partner.email`) exists only
    when one of them has a value, which is what lets the column checks state this rule too."""

    fields: tuple[str, ...]
    message: str

    def __call__(self, model: Any) -> Any:
        if all(getattr(model, name) is None for name in self.fields):
            raise ValueError(self.message)
        return model


@dataclass(frozen=True, slots=True)
class NotEmpty:
    """The value is not the empty string."""

    message: str = "must not be empty"

    def __call__(self, value: str) -> str:
        if not value:
            raise ValueError(self.message)
        return value


# No address is longer (RFC 5321); longer cells are not matched against the pattern at all.
LONGEST_EMAIL = 254


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An address the providers accept: at most LONGEST_EMAIL characters matching EMAIL_BODY.

    The message says why not, so that a person can fix it (`email_problem`).
    """

    pattern: str = EMAIL_BODY
    longest: int = LONGEST_EMAIL

    def __call__(self, value: str) -> str:
        if len(value) > self.longest or not EMAIL_PATTERN.match(value):
            raise ValueError(email_problem(value))
        return value


check_email = EmailAddress()

# Letters of other scripts that look like Latin ones: the usual look-alikes in spoofed addresses.
_LOOK_ALIKES = dict(
    zip(
        "аеорсхуіјѕԁһԛԝАВЕКМНОРСТХІЈЅοαι",
        "aeopcxyijsdhqwABEKMHOPCTXIJSoai",
        strict=True,
    )
)


def email_problem(value: str) -> str:
    """Why `value` is not an address the providers accept, said so that a person can fix it."""
    shown = shorten(value)
    if not value:
        return "is empty"
    if not value.isascii():
        position, char = next((i, c) for i, c in enumerate(value, start=1) if not c.isascii())
        name = unicodedata.name(char, "")
        what = f"{char!r} (U+{ord(char):04X}{' ' + name if name else ''}) at position {position}"
        looks = _LOOK_ALIKES.get(char) or unicodedata.normalize("NFKC", char)
        if looks.isascii() and looks.strip():
            what += f", which looks like {looks!r}"
        message = f"{shown} contains the non-ASCII character {what}"
        invisible = unicodedata.category(char) in ("Cc", "Cf", "Zs")
        fix = "delete that character" if invisible else _ascii_hint(value)
        return f"{message}; only ASCII addresses are accepted: {fix}"
    if len(value) > LONGEST_EMAIL:
        return f"{shown} is too long for an email address"
    if "\n" in value or "\r" in value:
        return f"{shown} contains a line break"
    if _SPACE.search(value):
        return f"{shown} contains a space"
    if "@" not in value:
        return f"{shown} has no @"
    return f"{shown} is not a valid email address"


_SPACE = re.compile(r"\s")


def _ascii_hint(value: str) -> str:
    """What to do about a non-ASCII address: its domain's ASCII (punycode) form, if it has one.

    A domain that mixes look-alike letters with ASCII ones is a spoof, not an IDN: retype it.
    """
    local, at, domain = value.rpartition("@")
    if not at or not local.isascii() or domain.isascii():
        return "retype that character"
    for label in domain.split("."):
        if any(char in _LOOK_ALIKES for char in label) and any(
            char.isascii() and char.isalpha() for char in label
        ):
            return "retype that character"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "retype that character"
    candidate = f"{local}@{ascii_domain}"
    if EMAIL_PATTERN.match(candidate):
        return f"use the domain's ASCII form, {candidate}"
    return f"the domain's ASCII form, {candidate}, is not accepted either"


def shorten(value: str, limit: int = 80) -> str:
    """`value` quoted for a message, cut short: a 10 MB cell must not become a 10 MB report line."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


@dataclass(frozen=True, slots=True)
class SingleLine:
    """The value holds no line break.

    A line break in a name is most often an unbalanced quote that swallowed the next lines.
    """

    message: str = "contains a line break (is a quote in the file unbalanced?)"

    def __call__(self, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError(self.message)
        return value


single_line = SingleLine()


def trim(value: object) -> object:
    """`models.trim()` for text (whitespace, NBSP and invisible characters at either end);
    anything else is left for the type check to refuse."""
    return trim_text(value) if isinstance(value, str) else value


_strip = trim  # the name earlier schemas used

# Trimmed before the format check: Dub rejects " a@b.co " (it checks before trimming), so the
# tool sends every email trimmed. Zero-width spaces and NBSP pasted around it go too.
Email = Annotated[str, BeforeValidator(trim), AfterValidator(check_email)]
TrimmedStr = Annotated[str, BeforeValidator(trim)]
