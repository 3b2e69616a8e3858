"""A clean CSV, parsed whole by polars: the fast way, taken only when it reads what the
careful reader (csv_careful.py) would read."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sync import text
from sync.models import trim
from sync.sources.csv_text import CONTENT, sniff_separator
from sync.sources.file_checks import binary_kind, clean_header
from sync.sources.table import numbered


def read_clean_csv(
    path: Path, data: bytes, encoding: str | None
) -> tuple[list[str], pl.DataFrame] | None:
    """A CSV that cannot need the careful reader, parsed by polars into the one frame
    (table.py); None for any other.

    Clean means: UTF-8 without a byte-order mark; no carriage return or NUL anywhere; the header
    on the first line, unquoted, naming every column; no blank line; and on every line exactly
    width - 1 separators outside quoted values, every quote belonging to a quoted value that is a
    whole field and ends on its line (`_fields_fit`). Then every physical line is one record of
    the header's width, and polars reads the values the csv-module reader reads: the same rows,
    numbered 1, 2, ... with no problem. Anything else goes the careful way.
    """
    if encoding is not None or b"\r" in data or b"\x00" in data:
        return None
    if binary_kind(data) is not None or data.startswith(codecs.BOM_UTF8):
        return None
    newline = data.find(b"\n")
    if newline < 0:
        return None
    try:
        first_line = data[:newline].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not CONTENT.match(first_line) or first_line[0] in "{[" or '"' in first_line:
        return None  # spaces or blank lines before the header, JSON, a quoted header
    separator, skip = sniff_separator(path, trim(first_line))
    if skip or len(separator.encode("utf-8")) != 1:
        return None
    header = clean_header(path, first_line.split(separator))
    width = len(header)
    if width < 2 or not all(header):
        return None
    start = newline + 1  # the data lines, without copying them
    if start == len(data) or data.startswith(b"\n", start):
        return None  # no rows, or a blank line first
    # A blank line further on has no separator, or fails the record grammar: _fields_fit.
    # polars refuses bytes that are not UTF-8, in these lines as in the values.
    fit = _fields_fit(data, start, separator.encode("utf-8"), width)
    if fit is None:
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
    if frame.height != fit.lines or frame.width != width:
        return None
    # An empty value is no value, quoted ("") or not, as the careful reader has it.
    frame = frame.with_columns(
        pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name)).alias(name) for name in header
    )
    return header, numbered(frame, control=fit.control)


@dataclass(frozen=True, slots=True)
class _Fit:
    """Every data line is one record of the header's width; `lines` counts them, and `control`
    says, line by line, whether it holds a control character, when the lines were read to find
    that out."""

    lines: int
    control: pl.Series | None = None


def _fields_fit(data: bytes, start: int, separator: bytes, width: int) -> _Fit | None:
    """Whether every data line (from byte `start`) has `width` fields, every quote in a
    well-formed quoted value that is a whole field and closes on its line; None when not.

    Without quotes the total count of separators decides: it is width - 1 per line, and a line
    with more fields is refused by polars itself, so no line can have fewer. With quotes, every
    line must match the grammar of a record: `width` fields, each either unquoted (no quote, no
    separator) or quoted ('"..."', a quote inside written as two), separated by the separator.
    That search also finds the lines holding a control character, at no extra cost: the grammar
    is first asked without control characters, and only the lines it refuses are asked again.
    """
    if data.find(b'"', start) < 0:
        lines = data.count(b"\n", start) + (0 if data.endswith(b"\n") else 1)
        fits = data.count(separator, start) == (width - 1) * lines
        return _Fit(lines) if fits else None
    sep = f"\\x{{{separator[0]:x}}}"
    line = pl.col("line").fill_null("")
    refused = ~line.str.contains(_record(sep, width, text.CONTROL_CHARACTERS))
    try:
        # Every line as one value (NUL never occurs in the file, so it splits nothing), read in
        # morsels that the search runs on, on both cores: no copy of the whole text is built.
        # The lines refused are kept, to be asked again. With no quote character, every line,
        # a blank one too (a null), is one row: the rows count the lines, and counting the
        # newlines apart would read the whole file once more.
        checked = (
            pl.scan_csv(
                data,
                has_header=False,
                skip_rows=1,
                separator="\x00",
                quote_char=None,
                infer_schema=False,
                new_columns=["line"],
            )
            .select(refused.alias("refused"), pl.when(refused).then(line).alias("line"))
            .collect(engine="streaming")
        )
    except Exception:
        return None
    suspects = checked.filter(pl.col("refused"))
    if suspects.height and not (
        suspects.select(line.str.contains(_record(sep, width, "")).all()).item()
    ):
        return None
    return _Fit(checked.height, control=checked.get_column("refused"))


def _record(sep: str, width: int, excluded: str) -> str:
    """The grammar of one record of `width` fields, none holding a character of the class
    `excluded` (a regex class's inside)."""
    field = f'(?:[^"{sep}\\n{excluded}]*|(?:"[^"{excluded}]*")+)'
    return f"^{field}(?:{sep}{field}){{{width - 1}}}$"
