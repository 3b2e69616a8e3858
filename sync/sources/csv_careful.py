"""Any other CSV, split by Python's csv module, which says where each row starts and what is
wrong with a row it cannot split."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from sync.errors import InputError
from sync.models import trim
from sync.sources.csv_text import CONTENT, decode, line_at, refuse_json, sniff_separator
from sync.sources.file_checks import binary_kind, clean_header
from sync.sources.table import CONTROL, FIELDS, NUMBER, PROBLEM, holds_control


def read_careful_csv(
    path: Path, data: bytes, encoding: str | None
) -> tuple[list[str], pl.DataFrame]:
    """The header and the frame (table.py) of any CSV the clean reader leaves alone.

    Raises:
        InputError: not text in the encoding, not CSV at all (a workbook, JSON), an unclosed
            quote, a NUL in the header, no row that fits the header.
    """
    kind = binary_kind(data) if encoding is None else None
    if kind is not None:
        raise InputError(f"{path} is {kind[0]}, not a CSV file", hint=kind[1])
    text = decode(path, data, encoding)
    content = CONTENT.search(text)  # where the text starts, without copying a large file
    if content is None:
        raise InputError(f"{path} is empty", hint="a CSV needs a header line and data rows")
    refuse_json(path, text, content.start())
    # The header is the first line that is not blank; blank lines before it are skipped.
    line_start = max(text.rfind("\n", 0, content.start()), text.rfind("\r", 0, content.start())) + 1
    first_line = line_at(text, line_start)
    if "\x00" in first_line:
        raise InputError(
            f"{path} has a NUL byte in its header line: it is not a text file",
            hint="export the roster as CSV UTF-8, or pass --encoding with the file's encoding",
        )
    separator, skip = sniff_separator(path, trim(first_line))
    offset = 0
    if skip:
        offset = len(text[:line_start].splitlines()) + 1
        text = text[line_start + len(first_line) :].removeprefix("\r").removeprefix("\n")
    return _parse_csv(path, text, separator, offset=offset)


class _Rows:
    """The rows read so far: numbers, cells, and the problem of each row that did not split.

    They become frame chunks as they come, so that a million rows never all wait as Python
    strings beside their frame."""

    CHUNK = 50_000

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.chunks: list[pl.DataFrame] = []
        self.count = 0
        self.ragged, self.first_ragged = 0, ""
        self._clear()

    def _clear(self) -> None:
        self.numbers: list[int] = []
        self.records: list[list[str] | None] = []
        self.problems: list[str | None] = []
        self.fields: list[list[str] | None] = []  # a ragged row's fields, as it split

    def add(self, number: int, record: list[str]) -> None:
        self._append(number, record, None, None)

    def refuse(self, number: int, problem: str, fields: list[str] | None = None) -> None:
        self._append(number, None, problem, fields)

    def _append(
        self, number: int, record: list[str] | None, problem: str | None, fields: list[str] | None
    ) -> None:
        self.numbers.append(number)
        self.records.append(record)
        self.problems.append(problem)
        self.fields.append(fields)
        self.count += 1
        if len(self.numbers) == self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        empty = [None] * len(self.names)
        cells = pl.DataFrame(
            [record if record is not None else empty for record in self.records],
            schema={name: pl.String for name in self.names},
            orient="row",
        )
        self.chunks.append(
            pl.DataFrame(
                [
                    pl.Series(NUMBER, self.numbers, dtype=pl.Int64),
                    # An empty value is no value, quoted ("") or not.
                    *(cells[name].replace("", None) for name in self.names),
                    pl.Series(PROBLEM, self.problems, dtype=pl.String),
                    pl.Series(FIELDS, self.fields, dtype=pl.List(pl.String)),
                ]
            ).with_columns(holds_control(self.names).alias(CONTROL))
        )
        self._clear()

    def frame(self) -> pl.DataFrame:
        if self.numbers or not self.chunks:
            self._flush()
        return pl.concat(self.chunks, rechunk=False)


def _parse_csv(
    path: Path, text: str, separator: str, *, offset: int
) -> tuple[list[str], pl.DataFrame]:
    """Split CSV text into rows with Python's csv module, which says where each row starts.

    polars' reader fails the whole file on one ragged row, silently pads a short one, counts a
    trailing blank line as a row, and cannot say on which line a quote went wrong.

    Args:
        offset: lines of the file before `text` (a "sep=" line), for line numbers in messages.
    """
    # A 10 MB cell is a bad row (too long for any field), not a reason to stop the file.
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    header = clean_header(path, _header(path, reader))
    named = [index for index, name in enumerate(header) if name]
    rows = _Rows([header[index] for index in named])
    number, end = 0, reader.line_num
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num <= end or str(exc) == "unexpected end of data":
                raise InputError(
                    f"{path}: the quoted value that starts on line {start + offset} is never "
                    "closed, so the rest of the file would be read as one value",
                    hint='add the missing closing quote ("), or write a quote inside a value '
                    'as two ("")',
                ) from None
            end, number = reader.line_num, number + 1
            rows.refuse(number, f"{_lines(start, end, offset)}: {_quote_problem(exc)}")
            continue
        end, number = reader.line_num, number + 1
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line: not a row, though counted like a spreadsheet does
        fitted = _fitted(record, header, named, rows, (number, start, end, offset))
        if fitted is not None:
            if len(named) < len(header):
                _check_unnamed(path, header, fitted, start + offset)
                fitted = [fitted[index] for index in named]
            rows.add(number, fitted)
    if rows.count and rows.ragged == rows.count:
        # Not one row fits: the header is wrong (a name missing, a title line above it), not
        # every row. Said once, not once per row.
        raise InputError(
            f"{path}: no row fits the header: it has {len(header)} column(s), but "
            f"{rows.first_ragged} field(s)",
            hint="check that the header is the first line and names every column",
        )
    return rows.names, rows.frame()


def _header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    """The first record that is not blank."""
    raw_header: list[str] = []
    try:
        for raw_header in reader:
            if any(trim(cell) for cell in raw_header):
                break
    except csv.Error as exc:
        raise InputError(
            f"{path}: the header line is malformed: {exc}",
            hint="the first line must name the columns, separated by commas",
        ) from None
    return raw_header


def _fitted(
    record: list[str],
    header: list[str],
    named: list[int],
    rows: _Rows,
    where: tuple[int, int, int, int],
) -> list[str] | None:
    """The record as the header's width, or None when it does not fit (refused in `rows`)."""
    width = len(header)
    if len(record) == width:
        return record
    if named[-1] < len(record) < width:
        return record + [""] * (width - len(record))  # only unnamed columns missing
    if len(record) > width and not any(cell.strip() for cell in record[width:]):
        return record[:width]  # trailing separators with nothing after them
    number, start, end, offset = where
    # Its fields tell its keys (ragged.py) only when they line up with the named columns.
    fields = record if len(named) == width else None
    rows.refuse(number, _ragged(record, width, start, end, offset), fields)
    rows.ragged += 1
    rows.first_ragged = rows.first_ragged or f"{_lines(start, end, offset)} has {len(record)}"
    return None


def _lines(start: int, end: int, offset: int) -> str:
    start, end = start + offset, end + offset
    return f"line {start}" if start == end else f"lines {start}-{end}"


def _ragged(record: list[str], width: int, start: int, end: int, offset: int) -> str:
    where = _lines(start, end, offset)
    if len(record) > width:
        return (
            f"{where} has {len(record)} fields but the header has {width}: "
            "quote values that contain the separator"
        )
    return (
        f"{where} has {len(record)} field(s) but the header has {width}: "
        "a value or a separator is missing"
    )


def _quote_problem(exc: csv.Error) -> str:
    if "expected after" in str(exc):
        return 'a quoted value is followed by more text; write a quote inside a value as two ("")'
    return f"malformed ({exc})"


def _check_unnamed(path: Path, header: list[str], record: list[str], line: int) -> None:
    # A column without a name is ignored while it is empty (a trailing separator on every line);
    # a value in it may be data whose header was lost, so the file is refused.
    for index, name in enumerate(header):
        if not name and index < len(record) and record[index].strip():
            raise InputError(
                f"{path}: column {index + 1} has a blank column header but line {line} has a "
                "value in it",
                hint="name the column in the header line, or delete it",
            )
