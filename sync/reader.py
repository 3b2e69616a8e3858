"""Reads CSV or Parquet input into text columns, rows numbered from 1 (polars lives here).

Every cell is text, or None when empty. The table keeps the polars frame for the columnar core
(sync/columnar/); `rows` gives the same data as plain `Row` values, one per data row.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sync.errors import InputError
from sync.models import Row

CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})

# Byte-order marks we recognise, longest first so UTF-32 is not mistaken for UTF-16.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class Table:
    """An input file as text columns, with its header and the hash that binds a checkpoint to it."""

    path: Path
    columns: list[str]
    frame: pl.DataFrame
    content_hash: str

    @property
    def height(self) -> int:
        """The number of data rows."""
        return self.frame.height

    @property
    def rows(self) -> list[Row]:
        """Every data row with its 1-based number (built on each call: the frame is the store)."""
        return [
            Row(number=index, values=values)
            for index, values in enumerate(self.frame.iter_rows(named=True), start=1)
        ]


def read_table(path: Path, *, encoding: str | None = None) -> Table:
    """Read a CSV or Parquet file completely, or raise `InputError` saying what to fix.

    Args:
        path: the input file; its suffix chooses the format (.parquet/.pq, otherwise CSV).
        encoding: the CSV text encoding; None means UTF-8, or what a byte-order mark says.

    Raises:
        InputError: the file is missing, unreadable, not in the encoding, or malformed.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"input file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None
    # hashlib and polars both release the GIL: the hash costs no time beside the parse.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame = _read_parquet(path, data)
        else:
            frame = _read_csv(path, data, encoding)
        content_hash = digest.result()
    columns = list(frame.columns)
    _check_headers(path, columns)
    return Table(path=path, columns=columns, frame=frame, content_hash=content_hash)


def _read_parquet(path: Path, data: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for a bad file
        raise InputError(
            f"{path} is not a readable Parquet file: {_first_line(exc)}",
            hint="check that the file is complete, or export it again",
        ) from None
    # Every cell is compared and sent as text; numbers and dates become their text form.
    return frame.select(pl.all().cast(pl.String, strict=False))


def _read_csv(path: Path, data: bytes, encoding: str | None) -> pl.DataFrame:
    if encoding is None or codecs.lookup(encoding).name == "utf-8":
        frame = _read_plain_utf8(data)
        if frame is not None:
            return frame
    text, encoding = _decode(path, data, encoding)
    if not text or text.isspace():
        raise InputError(f"{path} is empty", hint="a CSV needs a header line and data rows")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(
            f"{path} contains a NUL byte on line {line}: it is not a text file",
            hint="if it is UTF-16, pass --encoding utf-16",
        )
    # polars parses UTF-8 bytes several times faster than a Python text stream.
    utf8 = data if codecs.lookup(encoding).name == "utf-8" else text.encode("utf-8")
    try:
        return _parse_csv(utf8)
    except pl.exceptions.ComputeError as exc:
        message = _first_line(exc)
        if "more fields" in message:
            message = "a row has more fields than the header"
        raise InputError(
            f"{path} is not a well-formed CSV file: {message}",
            hint="check for unbalanced quotes or rows with extra commas",
        ) from None
    except Exception as exc:
        raise InputError(f"{path} is not a readable CSV file: {_first_line(exc)}") from None


def _parse_csv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(
        data,
        infer_schema=False,  # every cell as text: "007" must stay "007"
        raise_if_empty=True,
    )


def _read_plain_utf8(data: bytes) -> pl.DataFrame | None:
    """The common case, a well-formed UTF-8 file without a byte-order mark, parsed straight from
    its bytes (polars checks the encoding of every cell); None when anything looks unusual, so
    that the careful path names the problem exactly."""
    if data.startswith(codecs.BOM_UTF8) or b"\x00" in data or data[:4096].isspace():
        return None
    try:
        frame = _parse_csv(data)
    except Exception:
        return None
    # polars reads a header with invalid UTF-8 lossily, as U+FFFD: let the careful path decide.
    if any("\ufffd" in name for name in frame.columns):
        return None
    return frame


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """The text, and the encoding it was decoded from (a byte-order mark's, by default)."""
    if encoding is None:
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding), encoding
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", hint="try utf-8 or latin-1") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path} is not valid {encoding} (byte 0x{data[exc.start]:02x} on line {line})",
            hint="save it as UTF-8, or pass --encoding latin-1 (or the file's real encoding)",
        ) from None


def _check_headers(path: Path, columns: list[str]) -> None:
    blank = [index + 1 for index, name in enumerate(columns) if not name.strip()]
    if blank:
        raise InputError(
            f"{path} has a blank column header (column {', '.join(map(str, blank))})",
            hint="give every column a name",
        )
    seen: set[str] = set()
    for name in columns:
        stripped = name.strip()
        if stripped in seen or name.endswith("_duplicated_0"):
            raise InputError(
                f"{path} has the column header {stripped.removesuffix('_duplicated_0')!r} twice",
                hint="rename one of them",
            )
        seen.add(stripped)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
