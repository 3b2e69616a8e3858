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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import polars as pl

from sync.columnar import existing as remote
from sync.columnar import keys as hashed_keys
from sync.columnar.existing import ExistingPartners, PartnerIndex
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
        return candidates_of(self.firsts)


def candidates_of(keys: pl.DataFrame) -> Iterator[Candidate]:
    """Rows of a keys frame (ROW, EMAIL, TENANT) as candidates without payloads."""
    for row, email, tenant in keys.select(ROW, EMAIL, TENANT).iter_rows():
        yield Candidate(row=row, payload={}, email=email, tenant_id=tenant)


def needing_check(keys: pl.DataFrame, known: Mapping[str, tuple[str | None, str]]) -> pl.DataFrame:
    """The rows `plan.Knowledge.needs_check` sends to the provider, on columns: the email key
    was never seen, or was seen with another tenant id (both set)."""
    if not known:
        return keys
    seen = pl.DataFrame(
        {"k_key": list(known), "k_tenant": [tenant for tenant, _ in known.values()]},
        schema={"k_key": pl.String, "k_tenant": pl.String},
    ).with_columns(pl.lit(True).alias("k_seen"))
    joined = keys.join(seen, left_on=KEY, right_on="k_key", how="left")
    other_tenant = _set(TENANT) & _set("k_tenant") & (pl.col(TENANT) != pl.col("k_tenant"))
    needed = pl.col("k_seen").is_null() | other_tenant
    return joined.filter(needed).select(keys.columns).sort(ROW)


@dataclass(frozen=True, slots=True)
class PlanFrame:
    """Every row's decision, in row order, as columns."""

    frame: pl.DataFrame  # ROW, ACTION, REMOTE_ID, MESSAGE, FIELD, EMAIL, TENANT

    @classmethod
    def of(cls, entries: list[PlanEntry]) -> PlanFrame:
        return cls(frame=_entries_frame(sorted(entries, key=lambda entry: entry.row)))

    def __len__(self) -> int:
        return self.frame.height

    def entries(self, action: Action | None = None) -> Iterator[PlanEntry]:
        """Every row's entry, in row order (only those of `action` when given)."""
        frame = self.frame if action is None else self.frame.filter(pl.col(ACTION) == action.value)
        for row, action_, remote_id, message, field, email, tenant in frame.iter_rows():
            yield PlanEntry(
                row=row,
                action=Action(action_),
                remote_id=remote_id,
                message=message,
                field=field,
                email=email,
                tenant_id=tenant,
            )

    def decisions(self) -> Iterator[tuple[int, str, str | None, str | None, str | None]]:
        """Every row's (row, action, remote id, message, field), as the checkpoint stores it."""
        return self.frame.select(ROW, ACTION, REMOTE_ID, MESSAGE, FIELD).iter_rows()

    def counts(self) -> Counter[str]:
        return Counter(dict(self.frame[ACTION].value_counts().iter_rows()))

    def replaced(self, entries: list[PlanEntry]) -> PlanFrame:
        """This plan with these rows decided otherwise."""
        if not entries:
            return self
        rows = pl.Series([entry.row for entry in entries], dtype=pl.Int64).implode()
        kept = self.frame.filter(~pl.col(ROW).is_in(rows))
        return PlanFrame(frame=pl.concat([kept, _entries_frame(entries)]).sort(ROW))

    def rows(self, action: Action) -> list[int]:
        return self.frame.filter(pl.col(ACTION) == action.value)[ROW].to_list()


def split_keys(keys: pl.DataFrame, tenant_label: str = "tenantId") -> Distinct:
    """Separate the first row of each key from later rows with the same email or tenant id.

    `tenant_label` is the provider's name for the tenant id, for the messages."""
    shared = hashed_keys.maybe_repeated(keys, KEY) | (
        keys[TENANT].is_not_null() & hashed_keys.maybe_repeated(keys, TENANT)
    )
    tangled = keys.filter(shared)
    firsts, duplicates = split_duplicates(
        (
            Candidate(row=row, payload={}, email=email, tenant_id=tenant)
            for row, email, tenant in tangled.select(ROW, EMAIL, TENANT).iter_rows()
        ),
        tenant_label,
    )
    first_rows = pl.Series([candidate.row for candidate in firsts], dtype=pl.Int64)
    first = ~shared | keys[ROW].is_in(first_rows.implode())
    return Distinct(firsts=keys.filter(first), duplicates=_entries_frame(duplicates))


def match(
    distinct: Distinct,
    invalid: list[Outcome],
    partners: ExistingPartners,
    tenant_label: str = "tenantId",
) -> PlanFrame:
    """One entry per input row: invalid rows, duplicates, and each first row matched against
    the partners that exist (exists / conflict / create)."""
    index = partners.index
    decided, tangled = _matched(distinct.firsts, index)
    others = [*_invalid_entries(invalid), *_classify_rows(tangled, index, tenant_label)]
    parts = [*decided, _entries_frame(others), distinct.duplicates]
    return PlanFrame(frame=pl.concat(parts).sort(ROW))


def _matched(firsts: pl.DataFrame, index: PartnerIndex) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """The first rows decided in columns (as plan entries), and the rows left to `classify`
    with the partners they found. (Its own function, so that the joins' intermediate frames are
    freed before the entries are put in row order.)"""
    by_key = index.by_key.rename(
        {
            remote.KEY: "e_key",
            remote.ID: "e_id",
            remote.TENANT: "e_tenant",
            remote.FIRST_TENANT: "e_first_tenant",
        }
    )
    by_email = hashed_keys.left_join(firsts, by_key, KEY, "e_key").drop("e_key")
    # Most rows' email partner is also the partner their tenant id matches: no second join.
    settled = (
        pl.col("e_id").is_not_null()
        & (pl.col("e_tenant") == pl.col(TENANT))
        & pl.col("e_first_tenant")
    ).fill_null(False) | ~_set(TENANT)
    found_by_email = pl.col("e_id").is_not_null() & _set(TENANT)
    known = (
        by_email.lazy()
        .filter(settled)
        .select(
            ROW,
            EMAIL,
            TENANT,
            "e_id",
            "e_tenant",
            pl.when(found_by_email).then(pl.col("e_id")).alias("t_id"),
            pl.when(found_by_email).then(True).alias("t_same_email"),
        )
    )
    by_tenant = index.by_tenant.rename(
        {remote.TENANT: "t_tenant", remote.ID: "t_id", remote.KEY: "t_key"}
    )
    unsettled = by_email.filter(~settled).select(ROW, EMAIL, KEY, TENANT, "e_id", "e_tenant")
    looked_up = (
        hashed_keys.left_join(unsettled, by_tenant, TENANT, "t_tenant")
        .lazy()
        .select(
            ROW,
            EMAIL,
            TENANT,
            "e_id",
            "e_tenant",
            "t_id",
            (pl.col("t_key") == pl.col(KEY)).alias("t_same_email"),
        )
    )
    simple_known, tangled_known = _decide(known)
    simple_looked_up, tangled_looked_up = _decide(looked_up)
    tangled = pl.concat([tangled_known, tangled_looked_up], how="diagonal_relaxed")
    return [simple_known, simple_looked_up], tangled


def _set(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) != "")


def _decide(found: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plain decisions as plan entries, and the rows `plan.classify` must decide.

    Plain: nothing found (create); found by tenant id, the same partner as by email if any, with
    the row's email (exists); found by email alone with no other tenant id (exists).
    """
    by_tenant = pl.col("t_id").is_not_null()
    by_email = pl.col("e_id").is_not_null()
    plain_tenant = (
        by_tenant
        & (~by_email | (pl.col("e_id") == pl.col("t_id")))
        & pl.col("t_same_email").fill_null(False)
    )
    plain_email = (
        ~by_tenant
        & by_email
        & ~(_set(TENANT) & _set("e_tenant") & (pl.col("e_tenant") != pl.col(TENANT)))
    )
    action = (
        pl.when(plain_tenant | plain_email)
        .then(pl.lit(Action.EXISTS.value))
        .when(~by_tenant & ~by_email)
        .then(pl.lit(Action.CREATE.value))
    )
    decided = found.with_columns(action.alias(ACTION))
    simple = decided.filter(pl.col(ACTION).is_not_null()).select(
        ROW,
        ACTION,
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
    tangled = decided.filter(pl.col(ACTION).is_null()).select(
        ROW, EMAIL, TENANT, "e_id", "e_tenant", "t_id"
    )
    simple_frame, tangled_frame = pl.collect_all([simple, tangled])
    return simple_frame, tangled_frame


def _classify_rows(
    tangled: pl.DataFrame, index: PartnerIndex, tenant_label: str
) -> list[PlanEntry]:
    """`plan.classify` for the rows whose match is not plain, with the partners they found."""
    ids = [*tangled["e_id"].drop_nulls(), *tangled["t_id"].drop_nulls()]
    emails = index.emails(ids) if ids else {}
    entries = []
    for row, email, tenant, e_id, e_tenant, t_id in tangled.iter_rows():
        candidate = Candidate(row=row, payload={}, email=email, tenant_id=tenant)
        found = RemoteIndex()
        if e_id is not None:
            found.by_email[candidate.key] = RemotePartner(e_id, emails.get(e_id), e_tenant)
        if t_id is not None:
            found.by_tenant[tenant] = RemotePartner(t_id, emails.get(t_id), tenant)
        entries.append(classify(candidate, found, tenant_label))
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
