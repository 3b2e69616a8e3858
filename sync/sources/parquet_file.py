"""A Parquet roster as text columns, the way a person would have typed them into a CSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from sync.errors import InputError
from sync.sources.file_checks import binary_kind, first_line


def read_parquet(path: Path, data: bytes) -> tuple[pl.DataFrame, dict[str, str]]:
    """The file as text columns, and its columns of lists or structs with what they hold."""
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for a bad file
        what, hint = _not_parquet(data) or (
            first_line(exc),
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
    kind = binary_kind(data)
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
    """One Parquet column as text cells."""
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
