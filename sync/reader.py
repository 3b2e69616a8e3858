"""Reads CSV or Parquet input into rows with their 1-based data row numbers (polars lives here)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from sync.errors import InputError
from sync.models import Row, trim

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


class Table:
    """An input file as rows, with its header and the hash that binds a checkpoint to it.

    A clean CSV is parsed by polars into text columns (`frame`); the rows are then built only
    when asked for. Any other input is read row by row (`rows`), and `frame` built from them.
    """

    __slots__ = ("_frame", "_rows", "columns", "content_hash", "nested", "path")

    def __init__(
        self,
        path: Path,
        columns: list[str],
        content_hash: str,
        *,
        rows: list[Row] | None = None,
        frame: pl.DataFrame | None = None,
        nested: dict[str, str] | None = None,
    ) -> None:
        if (rows is None) == (frame is None):
            raise ValueError("a table is given either its rows or its frame")
        self.path = path
        self.columns = columns
        self.content_hash = content_hash
        self._rows = rows
        self._frame = frame
        # Parquet columns of lists or structs, by name, with what they hold ("a list"): their
        # cells are text here, but only a `split` or `json` transform may take them.
        self.nested = nested or {}

    @property
    def height(self) -> int:
        """The number of data rows."""
        return self._frame.height if self._frame is not None else len(self.rows)

    @property
    def rows(self) -> list[Row]:
        """Every data row with its 1-based number (and `problem` when it could not be split)."""
        if self._rows is None:
            assert self._frame is not None
            self._rows = [
                Row(number=index, values=dict(zip(self.columns, values, strict=True)))
                for index, values in enumerate(self._frame.iter_rows(), start=1)
            ]
        return self._rows

    @property
    def frame(self) -> pl.DataFrame:
        """The rows as text columns, for the columnar core (sync/columnar/). Rows the reader could
        not split (`Row.problem`, see `problems`) are in it with no values."""
        if self._frame is None:
            self._frame = pl.DataFrame(
                {name: [row.values.get(name) for row in self.rows] for name in self.columns},
                schema={name: pl.String for name in self.columns},
            )
        return self._frame

    @property
    def row_numbers(self) -> Iterable[int]:
        """Every data row's number, in order (blank lines skipped by the careful reader count)."""
        if self._rows is None:
            return range(1, self.height + 1)
        return [row.number for row in self._rows]

    def filled(self, column: str) -> int:
        """How many rows give `column` a value."""
        values = self.frame[column]
        return int((values.is_not_null() & (values.str.len_bytes() > 0)).sum())

    @property
    def numbered_by_position(self) -> bool:
        """Whether the rows are numbered 1, 2, ... as they stand (no blank line skipped), which
        the columnar core assumes of `frame`."""
        if self._rows is None:
            return True
        return not self._rows or self._rows[-1].number == len(self._rows)

    @property
    def problems(self) -> dict[int, str]:
        """The rows the reader could not split into the header's columns, by number."""
        if self._rows is None:
            return {}  # a frame parsed whole has none
        return {row.number: row.problem for row in self._rows if row.problem is not None}


def read_table(path: Path, *, encoding: str | None = None) -> Table:
    """Read a CSV or Parquet file completely, or raise `InputError` saying what to fix.

    A row that cannot be split into the header's columns (too many or too few fields, a stray
    quote) does not stop the read: it comes back with `Row.problem` set, so that it is reported
    invalid and the good rows go on. Blank lines are not rows, though they are counted, so that
    row numbers stay those a spreadsheet shows.

    Args:
        path: the input file; its suffix chooses the format (.parquet/.pq, otherwise CSV).
        encoding: the CSV text encoding; None means UTF-8, UTF-16, or what a byte-order mark says.

    Raises:
        InputError: the file is missing, unreadable, not text in the encoding, not CSV at all
            (a workbook, JSON), has an unclosed quote or a blank, repeated or ambiguous header.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"input file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None
    # hashlib and polars both release the GIL: the hash costs no time beside the parse.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame, nested = _read_parquet(path, data)
            columns = _clean_header(path, list(frame.columns))
            nested = {trim(name): kind for name, kind in nested.items()}
            frame.columns = columns
            return Table(
                path=path,
                columns=columns,
                frame=frame,
                content_hash=digest.result(),
                nested=nested,
            )
        clean = _read_clean_csv(path, data, encoding)
        if clean is not None:
            header, frame = clean
            return Table(path=path, columns=header, frame=frame, content_hash=digest.result())
        columns, rows = _read_csv(path, data, encoding)
        return Table(path=path, columns=columns, rows=rows, content_hash=digest.result())


# --- Parquet ---------------------------------------------------------------------------------


def _read_parquet(path: Path, data: bytes) -> tuple[pl.DataFrame, dict[str, str]]:
    """The file as text columns, and its columns of lists or structs with what they hold."""
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for a bad file
        what, hint = _not_parquet(data) or (
            _first_line(exc),
            "check that the file is complete, or export it again",
        )
        raise InputError(f"{path} is not a readable Parquet file: {what}", hint=hint) from None
    # Every cell is compared and sent as text; numbers, dates and lists become their text form.
    text = pl.DataFrame([_parquet_text(path, frame.get_column(name)) for name in frame.columns])
    nested = {
        name: "a struct" if dtype == pl.Struct else "a list"
        for name, dtype in frame.schema.items()
        if dtype.is_nested()
    }
    return text, nested


def _not_parquet(data: bytes) -> tuple[str, str] | None:
    """What a file with a Parquet name really is, and what to do, when it is not Parquet at all."""
    if data.startswith(b"PAR1"):
        return None
    kind = _binary_kind(data)
    if kind is not None:
        return f"it is {kind[0]}", kind[1]
    head = data[:4096]
    if not head or b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "it is text, most likely CSV", "rename it to .csv"


def _parquet_text(path: Path, series: pl.Series) -> pl.Series:
    """One Parquet column as text cells, the way a person would have typed them into a CSV."""
    dtype = series.dtype
    if dtype.is_float():
        # pandas stores an integer column with gaps as floats: tenant 1001 must stay "1001",
        # not "1001.0", or it would never match. NaN is pandas' empty cell.
        column = series.fill_nan(None)
        whole = column.is_not_null() & (column == column.round(0)) & (column.abs() < 2**53)
        as_int = column.cast(pl.Int64, strict=False).cast(pl.String)
        return pl.select(
            pl.when(whole).then(as_int).otherwise(column.cast(pl.String)).alias(series.name)
        ).to_series()
    if dtype == pl.Binary:
        try:
            return series.cast(pl.String)
        except pl.exceptions.PolarsError:
            raise InputError(
                f"{path}: column {series.name!r} holds bytes that are not UTF-8 text",
                hint="store the column as strings, or drop it",
            ) from None
    if dtype.is_nested():
        return pl.Series(series.name, [_nested_text(v) for v in series.to_list()], pl.String)
    return series.cast(pl.String, strict=False)


def _nested_text(value: object) -> str | None:
    """A list of plain values as "a,b" (what the `split` transform reads); deeper ones as JSON."""
    if value is None:
        return None
    if isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
        return ",".join(str(v) for v in value if v is not None) or None
    return json.dumps(value, ensure_ascii=False, default=str)


# --- CSV -------------------------------------------------------------------------------------


# The first character that is not blank (whitespace or a zero-width character), and one line.
_CONTENT = re.compile(r"[^\s\u200b-\u200d\u2060\ufeff]")
_LINE = re.compile(r"[^\r\n]*")


def _line_at(text: str, start: int) -> str:
    match = _LINE.match(text, start)
    return match.group() if match else ""


def _read_clean_csv(
    path: Path, data: bytes, encoding: str | None
) -> tuple[list[str], pl.DataFrame] | None:
    """A CSV that cannot need the careful reader, parsed by polars; None for any other.

    Clean means: UTF-8 without a byte-order mark; no carriage return or NUL anywhere; the header
    on the first line, unquoted, naming every column; no blank line; and on every line exactly
    width - 1 separators outside quoted values, every quote belonging to a quoted value that is a
    whole field and ends on its line (`_fields_fit`). Then every physical line is one record of
    the header's width, and polars reads the values the csv-module reader reads: the same rows,
    numbered 1, 2, ... with no problem. Anything else goes the careful way.
    """
    if encoding is not None or b"\r" in data or b"\x00" in data:
        return None
    if _binary_kind(data) is not None or data.startswith(codecs.BOM_UTF8):
        return None
    newline = data.find(b"\n")
    if newline < 0:
        return None
    try:
        first_line = data[:newline].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not _CONTENT.match(first_line) or first_line[0] in "{[" or '"' in first_line:
        return None  # spaces or blank lines before the header, JSON, a quoted header
    separator, skip = _separator(path, trim(first_line))
    if skip or len(separator.encode("utf-8")) != 1:
        return None
    header = _clean_header(path, first_line.split(separator))
    width = len(header)
    if width < 2 or not all(header):
        return None
    start = newline + 1  # the data lines, without copying them
    if start == len(data) or data.startswith(b"\n", start):
        return None  # no rows, or a blank line first
    # A blank line further on has no separator, or fails the record grammar: _fields_fit.
    lines = data.count(b"\n", start) + (0 if data.endswith(b"\n") else 1)
    # polars refuses bytes that are not UTF-8, in these lines as in the values.
    if not _fields_fit(data, start, separator.encode("utf-8"), width, lines):
        return None
    try:
        frame = pl.read_csv(
            data,
            separator=separator,
            has_header=True,
            new_columns=header,
            infer_schema=False,  # every cell as text: "007" must stay "007"
            quote_char='"',
            raise_if_empty=True,
            truncate_ragged_lines=False,
        )
    except Exception:  # polars raises several types; the careful reader names the problem
        return None
    if frame.height != lines or frame.width != width:
        return None
    # An empty value is no value, quoted ("") or not, as the careful reader has it.
    frame = frame.with_columns(
        pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name)).alias(name) for name in header
    )
    return header, frame


def _fields_fit(data: bytes, start: int, separator: bytes, width: int, lines: int) -> bool:
    """Whether every data line (from byte `start`) has `width` fields, every quote in a
    well-formed quoted value that is a whole field and closes on its line.

    Without quotes the total count of separators decides: it is width - 1 per line, and a line
    with more fields is refused by polars itself, so no line can have fewer. With quotes, every
    line must match the grammar of a record: `width` fields, each either unquoted (no quote, no
    separator) or quoted ('"..."', a quote inside written as two), separated by the separator.
    """
    if data.find(b'"', start) < 0:
        return data.count(separator, start) == (width - 1) * lines
    sep = f"\\x{{{separator[0]:x}}}"
    field = f'(?:[^"{sep}\\n]*|(?:"[^"]*")+)'
    record = f"^{field}(?:{sep}{field}){{{width - 1}}}$"
    try:
        # Every line as one value: NUL never occurs in the file, so it splits nothing.
        raw_lines = pl.read_csv(
            data,
            has_header=False,
            skip_rows=1,
            separator="\x00",
            quote_char=None,
            infer_schema=False,
            new_columns=["line"],
        )
    except Exception:
        return False
    # In morsels: the regex runs on both cores.
    fits = (
        raw_lines.lazy()
        .select(pl.col("line").fill_null("").str.contains(record).all())
        .collect(engine="streaming")
        .item()
    )
    return raw_lines.height == lines and bool(fits)


def _read_csv(path: Path, data: bytes, encoding: str | None) -> tuple[list[str], list[Row]]:
    kind = _binary_kind(data) if encoding is None else None
    if kind is not None:
        raise InputError(f"{path} is {kind[0]}, not a CSV file", hint=kind[1])
    text = _decode(path, data, encoding)
    content = _CONTENT.search(text)  # where the text starts, without copying a large file
    if content is None:
        raise InputError(f"{path} is empty", hint="a CSV needs a header line and data rows")
    _refuse_json(path, text, content.start())
    # The header is the first line that is not blank; blank lines before it are skipped.
    line_start = max(text.rfind("\n", 0, content.start()), text.rfind("\r", 0, content.start())) + 1
    first_line = _line_at(text, line_start)
    if "\x00" in first_line:
        raise InputError(
            f"{path} has a NUL byte in its header line: it is not a text file",
            hint="export the roster as CSV UTF-8, or pass --encoding with the file's encoding",
        )
    separator, skip = _separator(path, trim(first_line))
    offset = 0
    if skip:
        offset = len(text[:line_start].splitlines()) + 1
        text = text[line_start + len(first_line) :].removeprefix("\r").removeprefix("\n")
    return _parse_csv(path, text, separator, offset=offset)


def _parse_csv(
    path: Path, text: str, separator: str, *, offset: int
) -> tuple[list[str], list[Row]]:
    """Split CSV text into rows with Python's csv module, which says where each row starts.

    polars' reader fails the whole file on one ragged row, silently pads a short one, counts a
    trailing blank line as a row, and cannot say on which line a quote went wrong.

    Args:
        offset: lines of the file before `text` (a "sep=" line), for line numbers in messages.
    """
    # A 10 MB cell is a bad row (too long for any field), not a reason to stop the file.
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
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
    header = _clean_header(path, raw_header)
    width = len(header)
    named = [index for index, name in enumerate(header) if name]
    unnamed = [index for index, name in enumerate(header) if not name]
    names = [header[index] for index in named]
    rows: list[Row] = []
    ragged, first_ragged = 0, ""
    number = 0
    end = reader.line_num
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
            end = reader.line_num
            number += 1
            rows.append(
                Row(number, {}, problem=f"{_lines(start, end, offset)}: {_quote_problem(exc)}")
            )
            continue
        end = reader.line_num
        number += 1
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line: not a row, though counted like a spreadsheet does
        if len(record) != width:
            if named[-1] < len(record) < width:
                record = record + [""] * (width - len(record))  # only unnamed columns missing
            elif len(record) > width and not any(cell.strip() for cell in record[width:]):
                record = record[:width]  # trailing separators with nothing after them
            else:
                rows.append(Row(number, {}, problem=_ragged(record, width, start, end, offset)))
                ragged += 1
                first_ragged = first_ragged or f"{_lines(start, end, offset)} has {len(record)}"
                continue
        if unnamed:
            _check_unnamed(path, header, record, unnamed, start + offset)
            record = [record[index] for index in named]
        rows.append(Row(number, dict(zip(names, [cell or None for cell in record], strict=True))))
    if rows and ragged == len(rows):
        # Not one row fits: the header is wrong (a name missing, a title line above it), not
        # every row. Said once, not once per row.
        raise InputError(
            f"{path}: no row fits the header: it has {width} column(s), but {first_ragged} "
            "field(s)",
            hint="check that the header is the first line and names every column",
        )
    return names, rows


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


def _check_unnamed(
    path: Path, header: list[str], record: list[str], unnamed: list[int], line: int
) -> None:
    # A column without a name is ignored while it is empty (a trailing separator on every line);
    # a value in it may be data whose header was lost, so the file is refused.
    for index in unnamed:
        if index < len(record) and record[index].strip():
            raise InputError(
                f"{path}: column {index + 1} has a blank column header but line {line} has a "
                "value in it",
                hint="name the column in the header line, or delete it",
            )


def _separator(path: Path, first_line: str) -> tuple[str, int]:
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


def _refuse_json(path: Path, text: str, start: int) -> None:
    if text[start] not in "[{":
        return
    try:
        json.loads(text)
        kind = "JSON"
    except ValueError:
        first = _line_at(text, start)
        try:
            json.loads(first)
        except ValueError:
            return  # a CSV whose first header happens to start with a bracket
        kind = "JSON Lines"
    raise InputError(
        f"{path} is {kind}, not CSV",
        hint="export the roster as CSV or Parquet: one partner per row, a header line first",
    )


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


def _binary_kind(data: bytes) -> tuple[str, str] | None:
    for signature, kind, hint in _SIGNATURES:
        if data.startswith(signature):
            return kind, hint
    return None


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
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


def _clean_header(path: Path, columns: list[str]) -> list[str]:
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


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
