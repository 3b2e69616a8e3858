"""The file source: a CSV or Parquet roster read whole into one frame (table.py).

Parquet is read by polars; a clean CSV too (csv_clean.py); any other CSV by the careful reader
(csv_careful.py), which names each row it cannot split instead of stopping the file.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sync.errors import InputError
from sync.models import trim
from sync.progress import Progress
from sync.sources.csv_careful import read_careful_csv
from sync.sources.csv_clean import read_clean_csv
from sync.sources.file_checks import clean_header
from sync.sources.parquet_file import read_parquet
from sync.sources.table import Table, numbered

PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})


@dataclass(frozen=True, slots=True)
class InputFile:
    """A roster file as a run's rows (a `sync.sources.RowSource`)."""

    path: Path
    encoding: str | None = None  # of a CSV; None: UTF-8, UTF-16, or what a byte-order mark says
    hashed: bool = True  # its content hash is taken, for a checkpoint to bind to

    async def read(self, progress: Progress | None = None) -> Table:
        if progress:
            progress("reading", 0, None)
        return read_table(self.path, encoding=self.encoding, hashed=self.hashed)


def read_table(path: Path, *, encoding: str | None = None, hashed: bool = True) -> Table:
    """Read a CSV or Parquet file completely, or raise `InputError` saying what to fix.

    A row that cannot be split into the header's columns (too many or too few fields, a stray
    quote) does not stop the read: it comes back with its PROBLEM, so that it is reported
    invalid and the good rows go on. Blank lines are not rows, though they are counted, so that
    row numbers stay those a spreadsheet shows.

    Args:
        path: the input file; its suffix chooses the format (.parquet/.pq, otherwise CSV).
        encoding: the CSV text encoding; None means UTF-8, UTF-16, or what a byte-order mark says.
        hashed: take the content hash a checkpoint binds to (`Table.content_hash`; None when
            not): only `sync` keeps a checkpoint, and hashing a large file costs a core for as
            long as the parse that needs both.

    Raises:
        InputError: the file is missing, unreadable, not text in the encoding, not CSV at all
            (a workbook, JSON), has an unclosed quote or a blank, repeated or ambiguous header.
    """
    data = _read_bytes(path)
    # hashlib and polars both release the GIL: the hash runs beside the parse.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(hashlib.sha256, data) if hashed else None

        def content_hash() -> str | None:
            return digest.result().hexdigest() if digest is not None else None

        if path.suffix.lower() in PARQUET_SUFFIXES:
            cells, nested = read_parquet(path, data)
            columns = clean_header(path, list(cells.columns))
            cells.columns = columns
            return Table(
                path=path,
                columns=columns,
                frame=numbered(cells),
                content_hash=content_hash(),
                nested={trim(name): kind for name, kind in nested.items()},
            )
        clean = read_clean_csv(path, data, encoding)
        header, frame = clean if clean is not None else read_careful_csv(path, data, encoding)
        return Table(path=path, columns=header, frame=frame, content_hash=content_hash())


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"input file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None
