"""What a row the reader could not split still says about which partner it meant.

A ragged row is invalid whatever its cells, but the report should still name its email and
tenant id, so that a person can find the partner. Its fields did split, only not into the
header's width: some separator is extra (an unquoted comma in a name), values were added past
the last column, or some are missing. Each place where that could have happened gives one
alignment of the fields onto the header. An alignment
is plausible when no key column takes a cell that the extra separator cut (keys never hold the
separator) and an email column holds something with an "@". A key's value is kept only when
every plausible alignment gives the same one: the report never guesses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from sync.sources.table import FIELDS, NUMBER


def with_ragged_keys(
    frame: pl.DataFrame, columns: Sequence[str], keys: Sequence[str], emails: Sequence[str]
) -> pl.DataFrame:
    """`frame` (table.py) with the `keys` cells of its ragged rows filled where their fields
    tell them for certain; `emails` are the key columns that hold an email address."""
    ragged = frame.filter(pl.col(FIELDS).is_not_null())
    keys = [key for key in dict.fromkeys(keys) if key in columns]
    if not ragged.height or not keys:
        return frame
    index = {name: position for position, name in enumerate(columns)}
    fixes: dict[str, list[str | None]] = {key: [] for key in keys}
    for fields in ragged[FIELDS].to_list():
        emails_at = [index[name] for name in emails if name in index]
        found = _certain(fields, len(columns), [index[key] for key in keys], emails_at)
        for key, value in zip(keys, found, strict=True):
            fixes[key].append(value)
    known = {key: pl.Series(values, dtype=pl.String) for key, values in fixes.items()}
    update = pl.DataFrame({NUMBER: ragged[NUMBER], **known})
    return frame.update(update, on=NUMBER, how="left")


def _certain(fields: list[str], width: int, keys: list[int], emails: list[int]) -> list[str | None]:
    """Each key's value, when every plausible alignment of `fields` gives the same one."""
    seen: list[set[str | None]] = [set() for _ in keys]
    for aligned in _alignments(fields, width, set(keys)):
        if emails and not any("@" in (aligned[position] or "") for position in emails):
            continue
        for values, position in zip(seen, keys, strict=True):
            values.add(aligned[position] or None)
    return [next(iter(values)) if len(values) == 1 else None for values in seen]


def _alignments(fields: list[str], width: int, keys: set[int]) -> Iterator[list[str | None]]:
    """The row's cells for each place it could have gone wrong."""
    cells: list[str | None] = list(fields)
    extra = len(fields) - width
    if extra > 0:
        # Fields j .. j+extra were one value (not a key's: a key never holds the separator).
        for merged in range(width):
            if merged not in keys:
                yield [*cells[:merged], None, *cells[merged + extra + 1 :]]
        yield cells[:width]  # or values were added beyond the header's last column
    else:
        # The row lacks -extra values, together, from column j on.
        for gap in range(width + extra + 1):
            yield [*cells[:gap], *([None] * -extra), *cells[gap:]]
