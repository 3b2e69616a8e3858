"""What every input file must pass, whatever its format: a kind we can read, a usable header."""

from __future__ import annotations

from pathlib import Path

from sync.errors import InputError
from sync.models import trim

# File signatures of formats people save under a .csv name, with what to do instead.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (
        b"PK\x03\x04",
        "a ZIP archive, such as an Excel workbook (.xlsx)",
        "open it in Excel and save it as 'CSV UTF-8', or unzip it",
    ),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel workbook (.xls)",
        "open it in Excel and save it as 'CSV UTF-8'",
    ),
    (b"PAR1", "a Parquet file", "give it the .parquet extension"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (b"SQLite format 3\x00", "an SQLite database", "export the partners table as CSV"),
    (b"%PDF", "a PDF document", "export the roster as CSV"),
)


def binary_kind(data: bytes) -> tuple[str, str] | None:
    """What a binary file is, and what to do with it; None when it is none we know."""
    for signature, kind, hint in _SIGNATURES:
        if data.startswith(signature):
            return kind, hint
    return None


def clean_header(path: Path, columns: list[str]) -> list[str]:
    """Column names trimmed; refuse a header that is blank, repeated or ambiguous by case.

    An unnamed column is kept as "" for the CSV reader to drop while it is empty.
    """
    names = [trim(name) for name in columns]
    if not any(names):
        raise InputError(
            f"{path} has no column names in its first line", hint="the first line must be a header"
        )
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            continue
        earlier = seen.get(name.casefold())
        if earlier == name:
            raise InputError(
                f"{path} has the column header {_shown(name)} twice", hint="rename one of them"
            )
        if earlier is not None:
            raise InputError(
                f"{path} has the column headers {_shown(earlier)} and {_shown(name)}, which "
                "differ only in case",
                hint="rename or delete one of them",
            )
        seen[name.casefold()] = name
    return names


def _shown(name: str, limit: int = 60) -> str:
    return repr(name if len(name) <= limit else name[:limit] + "...")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line file problem."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
