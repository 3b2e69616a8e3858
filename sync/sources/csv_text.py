"""CSV bytes as text: the encoding (a byte-order mark, UTF-16 without one, or what the user
says), the field separator, and the files that only pretend to be CSV (JSON)."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

from sync.errors import InputError

# Byte-order marks we recognise, longest first so UTF-32 is not mistaken for UTF-16.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# The first character that is not blank (whitespace or a zero-width character), and one line.
CONTENT = re.compile(r"[^\s\u200b-\u200d\u2060\ufeff]")
_LINE = re.compile(r"[^\r\n]*")


def line_at(text: str, start: int) -> str:
    match = _LINE.match(text, start)
    return match.group() if match else ""


def sniff_separator(path: Path, first_line: str) -> tuple[str, int]:
    """The field separator, and whether the first line is Excel's "sep=X" hint to skip."""
    if len(first_line) == 5 and first_line.lower().startswith("sep="):
        return first_line[4], 1
    if path.suffix.lower() == ".tsv":
        return "\t", 0
    if "," not in first_line:
        # Excel in most of Europe writes ";"; other exports use tabs.
        for candidate in (";", "\t", "|"):
            if candidate in first_line:
                return candidate, 0
    return ",", 0


def refuse_json(path: Path, text: str, start: int) -> None:
    if text[start] not in "[{":
        return
    try:
        json.loads(text)
        kind = "JSON"
    except ValueError:
        first = line_at(text, start)
        try:
            json.loads(first)
        except ValueError:
            return  # a CSV whose first header happens to start with a bracket
        kind = "JSON Lines"
    raise InputError(
        f"{path} is {kind}, not CSV",
        hint="export the roster as CSV or Parquet: one partner per row, a header line first",
    )


def decode(path: Path, data: bytes, encoding: str | None) -> str:
    if encoding is None:
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
        encoding = encoding or _utf16_without_bom(data) or "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}", hint="try utf-8, cp1252 or latin-1"
        ) from None
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:4096]:
            raise InputError(
                f"{path} is not a text file (it has NUL bytes and is not valid {encoding})",
                hint="export the roster as CSV UTF-8, or pass --encoding with the file's encoding",
            ) from None
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path} is not valid {encoding} (byte 0x{data[exc.start]:02x} on line {line})",
            hint="save it as UTF-8, or pass its real encoding: " + _encoding_hint(data),
        ) from None


def _encoding_hint(data: bytes) -> str:
    # cp1252 is latin-1 plus the smart quotes, dashes and euro sign that Windows and Excel write;
    # latin-1 would read those as invisible control characters.
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "--encoding latin-1, for example"
    return "--encoding cp1252 if it comes from Windows or Excel, else --encoding latin-1"


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the text is clearly UTF-16 without a byte-order mark.

    Mostly-ASCII text in UTF-16 has a zero byte in every other position, which no UTF-8 text has.
    """
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    # The header's first character decides the byte order; the sample confirms it.
    if sample[0] and not sample[1] and odd.count(0) >= 0.9 * half and even.count(0) <= 0.1 * half:
        return "utf-16-le"
    if sample[1] and not sample[0] and even.count(0) >= 0.9 * half and odd.count(0) <= 0.1 * half:
        return "utf-16-be"
    return None
