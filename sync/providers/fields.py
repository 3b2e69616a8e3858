"""Field types shared by provider schemas: emails, lengths counted as the providers count."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from sync.models import trim

# The "practical" email pattern of zod 4's z.email(), the check Dub's API applies; a stricter RFC
# parser would reject addresses the providers accept, a looser one would let 422s through.
EMAIL_PATTERN = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)


def utf16_length(value: str) -> int:
    """Length in UTF-16 code units, the unit JavaScript-based APIs count in (an emoji is 2)."""
    return len(value.encode("utf-16-le")) // 2


def max_utf16(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if utf16_length(value) > limit:
            raise ValueError(f"at most {limit} characters allowed, got {utf16_length(value)}")
        return value

    return check


def check_email(value: str) -> str:
    if len(value) > _LONGEST_EMAIL or not EMAIL_PATTERN.match(value):
        raise ValueError(email_problem(value))
    return value


# No address is longer (RFC 5321); longer cells are not matched against the pattern at all.
_LONGEST_EMAIL = 254

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
    if len(value) > _LONGEST_EMAIL:
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


def single_line(value: str) -> str:
    # A line break in a name is most often an unbalanced quote that swallowed the next lines.
    if "\n" in value or "\r" in value:
        raise ValueError("contains a line break (is a quote in the file unbalanced?)")
    return value


def _strip(value: object) -> object:
    return trim(value) if isinstance(value, str) else value


# Trimmed before the format check: Dub rejects " a@b.co " (it checks before trimming), so the
# tool sends every email trimmed. Zero-width spaces and NBSP pasted around it go too.
Email = Annotated[str, BeforeValidator(_strip), AfterValidator(check_email)]
TrimmedStr = Annotated[str, BeforeValidator(_strip)]
