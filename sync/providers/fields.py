"""Field types shared by provider schemas: emails, lengths counted as the providers count."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

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
    if not EMAIL_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


# Trimmed before the format check: Dub rejects " a@b.co " (it checks before trimming), so the
# tool sends every email trimmed.
Email = Annotated[str, BeforeValidator(_strip), AfterValidator(check_email)]
TrimmedStr = Annotated[str, BeforeValidator(_strip)]
