"""Fast and exact set operations on text keys (emails, tenant ids, partner ids).

polars compares 64-bit hashes of texts several times faster than the texts. Two different texts
may share a hash, rarely; every operation here checks the texts wherever a shared hash could
change its answer, so the results are those of comparing the texts themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

HASH = "__hash"
POSITION = "__position"
# A join whose left side is this many times smaller than its right side filters the right first.
_FEW = 8


def text_hash(column: str) -> pl.Expr:
    """The 64-bit hash every operation here compares (tests swap in a colliding one)."""
    return pl.col(column).hash()


def maybe_repeated(frame: pl.DataFrame, column: str) -> pl.Series:
    """True for every value of `column` that occurs more than once, and possibly for a few that
    do not (a shared hash): use it only to pick rows for an exact check.

    Sorting the hashes takes a third of the memory of a hash table of them (is_duplicated), and
    sorting the values is three times faster than sorting their positions (arg_sort): the
    sorted hashes give the few that repeat, and each row asks whether its hash is one of those.
    """
    hashes = frame.select(text_hash(column)).to_series()
    ordered = hashes.sort()
    repeated = ordered.filter((ordered == ordered.shift(-1)).fill_null(False))
    return hashes.is_in(repeated.implode())


@dataclass(frozen=True, slots=True)
class Sightings:
    """A text column's hashes, and which of its rows is the first with its text."""

    hashes: pl.Series
    first: pl.Series  # exactly `frame[column].is_first_distinct()` (null counts as a value)
    distinct_hashes: bool  # no two rows share a hash


def sightings(frame: pl.DataFrame, column: str) -> Sightings:
    """The hashes of `column` and its first sightings, exactly."""
    hashes = frame.select(text_hash(column)).to_series()
    first = hashes.is_first_distinct()
    if first.all():
        return Sightings(hashes, first, distinct_hashes=True)
    # Only a row whose hash another row shares can repeat a text: the texts of those decide.
    shared = hashes.is_in(hashes.filter(~first).implode())
    exact = frame[column].filter(shared).is_first_distinct()
    return Sightings(hashes, first.scatter(shared.arg_true(), exact), distinct_hashes=False)


def first_sightings(frame: pl.DataFrame, column: str) -> pl.Series:
    """Exactly `frame[column].is_first_distinct()` (null counts as a value, as there)."""
    return sightings(frame, column).first


def with_hash(
    frame: pl.DataFrame, column: str, known: Sightings | None = None, rows: pl.Series | None = None
) -> pl.DataFrame:
    """`frame` (whose `column` texts are distinct) with their hashes as HASH, when no two share
    one; unchanged otherwise. `positions` compares hashes with such a frame.

    `known`: the sightings `frame` was picked from (its `rows`, a mask; all when None), whose
    hashes are taken rather than computed again."""
    if known is None:
        hashes = frame.select(text_hash(column)).to_series()
    else:
        hashes = known.hashes if rows is None or rows.all() else known.hashes.filter(rows)
    distinct = known is not None and known.distinct_hashes
    if distinct or hashes.n_unique() == frame.height:
        return frame.with_columns(hashes.alias(HASH))
    return frame


def positions(left: pl.DataFrame, left_on: str, right: pl.DataFrame, right_on: str) -> pl.Series:
    """For each row of `left`, the position in `right` of the row whose `right_on` text equals
    its `left_on` text (null where none does); `right_on` texts must be distinct.

    When `right` carries HASH (`with_hash`), the join compares hashes and then drops the matches
    whose texts differ; otherwise it compares the texts. Only positions are joined: the caller
    gathers the columns it reads, no more.
    """
    if HASH not in right.columns:
        table = right.select(right_on).with_row_index(POSITION)
        probe = left.select(left_on)
        return probe.join(
            table, left_on=left_on, right_on=right_on, how="left", maintain_order="left"
        )[POSITION]
    table = right.select(HASH).with_row_index(POSITION)
    probe = left.select(text_hash(left_on).alias(HASH))
    if left.height * _FEW < right.height:
        # A few rows against many: only the right rows they can find, before the hash table.
        table = table.filter(pl.col(HASH).is_in(probe[HASH].implode()))
    found = probe.join(table, on=HASH, how="left", maintain_order="left")[POSITION]
    same = (right[right_on].gather(found) == left[left_on]).fill_null(False)
    if (same | found.is_null()).all():
        return found
    # A shared hash matched two different texts: that row found nothing.
    return pl.select(pl.when(same).then(found)).to_series().alias(POSITION)


def left_join(left: pl.DataFrame, right: pl.DataFrame, left_on: str, right_on: str) -> pl.DataFrame:
    """`left` with the columns of the `right` row whose `right_on` text equals its `left_on`
    text (nulls where none does), in `left`'s order; `right_on` texts must be distinct."""
    at = positions(left, left_on, right, right_on)
    return left.hstack(right.drop(HASH, strict=False).gather(at).get_columns())
