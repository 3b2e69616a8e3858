"""Duplicates and matching on columns: valid rows + existing partners → one plan entry per row.

The rules are plan.py's. Rows whose keys are unique in the input cannot be duplicates nor have
any: they are the first of their keys at once, and only rows that share a key go through
`plan.split_duplicates`, in row order. Matching is two joins (by email key, by tenant id); the
plain outcomes (nothing found, found by one key with nothing contradicting) are decided in
columns, and every other row (conflicts, a partner found by tenant id under another email) is
decided by `plan.classify`, with its messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from sync.columnar import existing as remote
from sync.columnar.existing import ExistingPartners
from sync.columnar.mapping import ROW
from sync.columnar.validate import EMAIL, KEY, TENANT
from sync.models import Action, Candidate, Outcome, PlanEntry, RemotePartner
from sync.plan import RemoteIndex, classify, split_duplicates

ACTION, REMOTE_ID, MESSAGE, FIELD = "action", "remote_id", "message", "field"
_ENTRY_SCHEMA = {
    ROW: pl.Int64,
    ACTION: pl.String,
    REMOTE_ID: pl.String,
    MESSAGE: pl.String,
    FIELD: pl.String,
    EMAIL: pl.String,
    TENANT: pl.String,
}


@dataclass(frozen=True, slots=True)
class Distinct:
    """The first valid row of each email / tenant id, and every later row as a duplicate."""

    firsts: pl.DataFrame  # ROW, EMAIL, KEY, TENANT
    duplicates: pl.DataFrame  # plan entries

    def candidates(self) -> Iterator[Candidate]:
        """The first rows as candidates without payloads (what lookups need)."""
        for row, email, tenant in self.firsts.select(ROW, EMAIL, TENANT).iter_rows():
            yield Candidate(row=row, payload={}, email=email, tenant_id=tenant)


@dataclass(frozen=True, slots=True)
class PlanFrame:
    """Every row's decision, in row order, as columns."""

    frame: pl.DataFrame  # ROW, ACTION, REMOTE_ID, MESSAGE, FIELD, EMAIL, TENANT

    def __len__(self) -> int:
        return self.frame.height

    def entries(self) -> Iterator[PlanEntry]:
        for row, action, remote_id, message, field, email, tenant in self.frame.iter_rows():
            yield PlanEntry(
                row=row,
                action=Action(action),
                remote_id=remote_id,
                message=message,
                field=field,
                email=email,
                tenant_id=tenant,
            )

    def counts(self) -> Counter[str]:
        return Counter(dict(self.frame[ACTION].value_counts().iter_rows()))

    def rows(self, action: Action) -> list[int]:
        return self.frame.filter(pl.col(ACTION) == action.value)[ROW].to_list()


def split_keys(keys: pl.DataFrame) -> Distinct:
    """Separate the first row of each key from later rows with the same email or tenant id."""
    shared = pl.col(KEY).is_duplicated() | (
        pl.col(TENANT).is_not_null() & pl.col(TENANT).is_duplicated()
    )
    marked = keys.with_columns(shared.alias("shared"))
    alone = marked.filter(~pl.col("shared")).select(ROW, EMAIL, KEY, TENANT)
    tangled = marked.filter(pl.col("shared"))
    firsts, duplicates = split_duplicates(
        Candidate(row=row, payload={}, email=email, tenant_id=tenant)
        for row, email, tenant in tangled.select(ROW, EMAIL, TENANT).iter_rows()
    )
    if firsts:
        more = keys.filter(pl.col(ROW).is_in([candidate.row for candidate in firsts]))
        alone = pl.concat([alone, more]).sort(ROW)
    return Distinct(firsts=alone, duplicates=_entries_frame(duplicates))


def match(distinct: Distinct, invalid: list[Outcome], partners: ExistingPartners) -> PlanFrame:
    """One entry per input row: invalid rows, duplicates, and each first row matched against
    the partners that exist (exists / conflict / create)."""
    by_key = partners.by_key().select(
        pl.col(remote.KEY).alias(KEY),
        pl.col(remote.ID).alias("e_id"),
        pl.col(remote.EMAIL).alias("e_email"),
        pl.col(remote.TENANT).alias("e_tenant"),
    )
    by_tenant = partners.by_tenant().select(
        pl.col(remote.TENANT).alias(TENANT),
        pl.col(remote.ID).alias("t_id"),
        pl.col(remote.EMAIL).alias("t_email"),
        pl.col(remote.KEY).alias("t_key"),
    )
    joined = (
        distinct.firsts.lazy()
        .join(by_key.lazy(), on=KEY, how="left")
        .join(by_tenant.lazy(), on=TENANT, how="left")
        .collect()
    )
    by_tenant_found = pl.col("t_id").is_not_null()
    by_email_found = pl.col("e_id").is_not_null()
    tenant_set = pl.col(TENANT).is_not_null() & (pl.col(TENANT) != "")
    remote_tenant_set = pl.col("e_tenant").is_not_null() & (pl.col("e_tenant") != "")
    plain_tenant = (
        by_tenant_found
        & (~by_email_found | (pl.col("e_id") == pl.col("t_id")))
        & (pl.col("t_key") == pl.col(KEY)).fill_null(False)
    )
    plain_email = (
        ~by_tenant_found
        & by_email_found
        & ~(tenant_set & remote_tenant_set & (pl.col("e_tenant") != pl.col(TENANT)))
    )
    decided = joined.lazy().select(
        ROW,
        pl.when(plain_tenant)
        .then(pl.lit(Action.EXISTS.value))
        .when(plain_email)
        .then(pl.lit(Action.EXISTS.value))
        .when(~by_tenant_found & ~by_email_found)
        .then(pl.lit(Action.CREATE.value))
        .alias(ACTION),
        pl.when(plain_tenant).then(pl.col("t_id")).otherwise(pl.col("e_id")).alias(REMOTE_ID),
        pl.when(plain_tenant)
        .then(pl.lit("matched by tenantId"))
        .when(plain_email)
        .then(pl.lit("matched by email"))
        .otherwise(pl.lit(""))
        .alias(MESSAGE),
        pl.lit(None, dtype=pl.String).alias(FIELD),
        EMAIL,
        TENANT,
    )
    simple = decided.filter(pl.col(ACTION).is_not_null()).collect()
    tangled = joined.filter(~pl.col(ROW).is_in(simple[ROW].implode()))
    parts = [
        _entries_frame(_invalid_entries(invalid)),
        distinct.duplicates,
        simple,
        _entries_frame(_classify_rows(tangled)),
    ]
    return PlanFrame(frame=pl.concat(parts).sort(ROW))


def _classify_rows(joined: pl.DataFrame) -> list[PlanEntry]:
    """`plan.classify` for rows matching is not plain for, each with the partners it found."""
    entries = []
    for record in joined.iter_rows(named=True):
        candidate = Candidate(
            row=record[ROW], payload={}, email=record[EMAIL], tenant_id=record[TENANT]
        )
        index = RemoteIndex()
        if record["e_id"] is not None:
            found = RemotePartner(record["e_id"], record["e_email"], record["e_tenant"])
            index.by_email[candidate.key] = found
        if record["t_id"] is not None:
            found = RemotePartner(record["t_id"], record["t_email"], record[TENANT])
            index.by_tenant[record[TENANT]] = found
        entries.append(classify(candidate, index))
    return entries


def _invalid_entries(invalid: list[Outcome]) -> list[PlanEntry]:
    return [
        PlanEntry(
            row=outcome.row,
            action=Action.INVALID,
            message=outcome.message,
            field=outcome.field,
            email=outcome.email,
        )
        for outcome in invalid
    ]


def _entries_frame(entries: list[PlanEntry]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (e.row, e.action.value, e.remote_id, e.message, e.field, e.email, e.tenant_id)
            for e in entries
        ],
        schema=_ENTRY_SCHEMA,
        orient="row",
    )
