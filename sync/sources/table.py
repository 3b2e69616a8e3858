"""An input file as one polars frame: its cells as text, each row's number and the reader's word.

Every readable file (CSV or Parquet) becomes the same shape, whatever reader took it:

    NUMBER    the 1-based data row number, as a spreadsheet counts data rows (blank lines
              skipped by the careful CSV reader are counted, so numbers are not positions)
    <column>  one text column per header name, None for an empty cell
    PROBLEM   why the reader could not split this row into the header's columns (a ragged row,
              a stray quote), or None; such a row has no cells and is reported invalid
    FIELDS    a ragged row's fields as they split (None for every other row): what is left to
              tell which partner the row meant (`mapping.ragged_keys`)
    CONTROL   whether some cell of the row holds a control character (`text.CONTROL`): such a
              row is judged by the schema itself, which says which field holds it

The bookkeeping columns start with a space: header names are trimmed, so no input column can
have their names.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sync import text

NUMBER = " row"
PROBLEM = " problem"
FIELDS = " fields"
CONTROL = " control"


class Table:
    """An input file read whole: its header, its one frame, and the hash that binds a
    checkpoint to it."""

    __slots__ = ("columns", "content_hash", "frame", "nested", "path")

    def __init__(
        self,
        path: Path,
        columns: list[str],
        content_hash: str | None,
        frame: pl.DataFrame,
        nested: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.columns = columns
        self.content_hash = content_hash  # None when read for no checkpoint (file.read_table)
        self.frame = frame  # NUMBER, the columns, PROBLEM, FIELDS, CONTROL
        # Parquet columns of lists or structs, by name, with what they hold ("a list"): their
        # cells are text here, but only a `split` or `json` transform may take them.
        self.nested = nested or {}

    @property
    def height(self) -> int:
        """The number of data rows."""
        return self.frame.height

    @property
    def row_numbers(self) -> pl.Series:
        """Every data row's number, in order."""
        return self.frame[NUMBER]

    def filled(self, column: str) -> int:
        """How many rows give `column` a value."""
        values = self.frame[column]
        return int((values.is_not_null() & (values.str.len_bytes() > 0)).sum())


def numbered(cells: pl.DataFrame, control: pl.Series | None = None) -> pl.DataFrame:
    """The frame of text cells that split without a problem, numbered 1, 2, ... by position.

    `control` says, row by row, whether a cell holds a control character, when the reader found
    it out already; otherwise the cells are searched."""
    return cells.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(NUMBER),
        pl.all(),
        pl.lit(None, dtype=pl.String).alias(PROBLEM),
        pl.lit(None, dtype=pl.List(pl.String)).alias(FIELDS),
        (pl.lit(control) if control is not None else holds_control(cells.columns)).alias(CONTROL),
    )


def holds_control(columns: list[str]) -> pl.Expr:
    """True where a cell of these text columns holds a control character."""
    found = [pl.col(name).str.contains(text.CONTROL) for name in columns]
    return pl.any_horizontal(found).fill_null(False) if found else pl.lit(False)


def rows_numbered(frame: pl.DataFrame, numbers: pl.Series) -> pl.DataFrame:
    """The rows of `frame` with these numbers (each one in it), in the order given."""
    return frame[frame[NUMBER].search_sorted(numbers.cast(pl.Int64))]
