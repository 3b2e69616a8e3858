"""Generated rosters and existing partners, built as polars columns so that a million is instant.

Partner `n` has email `partner{n}@example{n % 97}.com` and tenant id `crm-{n}`; rosters use the
column names of samples/roster.csv, which the default Dub mapping knows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IE", "JP", "BR", "de", " nl "]


def _email(n: pl.Expr) -> pl.Expr:
    return pl.format("partner{}@example{}.com", n, n % 97)


def partners(first: int, count: int) -> pl.DataFrame:
    """Existing partners `first` .. `first + count - 1`: id, email, tenant id, name, country."""
    n = pl.int_range(first, first + count, dtype=pl.Int64, eager=True).alias("n")
    return pl.DataFrame(n).select(
        id=pl.format("pn_{}", n.cast(pl.String).str.zfill(24)),
        email=_email(pl.col("n")),
        tenantId=pl.format("crm-{}", pl.col("n")),
        name=pl.format("Partner {}", pl.col("n")),
        country=pl.lit("US"),
    )


def roster(count: int, *, first: int = 0) -> pl.DataFrame:
    """`count` ordinary, valid roster rows for partners `first` ..."""
    n = pl.int_range(first, first + count, dtype=pl.Int64, eager=True).alias("n")
    return pl.DataFrame(n).select(
        email=_email(pl.col("n")),
        first_name=pl.format("First{}", pl.col("n")),
        last_name=pl.format("Last{}", pl.col("n")),
        tenant_id=pl.format("crm-{}", pl.col("n")),
        username=pl.format("partner_{}", pl.col("n")),
        country=pl.lit(pl.Series(COUNTRIES)).get(pl.col("n") % len(COUNTRIES)),
        description=pl.lit("Lifestyle blogger covering home office setups"),
        tags=pl.lit("blog, lifestyle"),
    )


@dataclass(frozen=True)
class Mix:
    """What a generated roster holds, by plan class."""

    rows: int
    exists: int
    create: int
    invalid: int
    duplicate: int
    conflict: int


def mixed_roster(rows: int) -> tuple[pl.DataFrame, Mix]:
    """A roster of `rows` rows against partners 0 .. rows-1, as a nightly file looks: most rows
    exist (some with their email in other case), 1% are new, 0.5% invalid, 0.5% duplicates of the
    row before, 0.1% conflicting (a partner's email with a tenant id it does not have)."""
    frame = roster(rows)
    i = pl.int_range(0, rows, dtype=pl.Int64).alias("i")
    new = (i % 100) == 7
    invalid = (i % 200) == 13
    duplicate = (i % 200) == 15  # a copy of the row before, an ordinary one
    conflict = (i % 1000) == 21
    upper = (i % 10) == 3
    frame = frame.with_columns(i).with_columns(
        email=pl.when(new)
        .then(_email(i + rows))
        .when(invalid)
        .then(pl.format("partner{}@@example.com", i))
        .when(duplicate)
        .then(_email(i - 1))
        .when(upper)
        .then(pl.col("email").str.to_uppercase())
        .otherwise(pl.col("email")),
        tenant_id=pl.when(new)
        .then(pl.format("crm-{}", i + rows))
        .when(duplicate)
        .then(pl.format("crm-{}", i - 1))
        .when(conflict)
        .then(pl.format("crm-moved-{}", i))
        .otherwise(pl.col("tenant_id")),
    )
    counts = frame.select(
        new=new.sum(), invalid=invalid.sum(), duplicate=duplicate.sum(), conflict=conflict.sum()
    ).row(0, named=True)
    exists = rows - sum(counts.values())
    mix = Mix(
        rows=rows,
        exists=exists,
        create=counts["new"],
        invalid=counts["invalid"],
        duplicate=counts["duplicate"],
        conflict=counts["conflict"],
    )
    return frame.drop("i"), mix


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path)
    return path


def seed_records(frame: pl.DataFrame) -> list[dict[str, str]]:
    """Partners as sandbox seed records (the create-body shape, plus their id)."""
    return frame.select("id", "email", "tenantId", "name", "country").to_dicts()


def write_seed(frame: pl.DataFrame, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in seed_records(frame):
            handle.write(json.dumps(record) + "\n")
    return path
