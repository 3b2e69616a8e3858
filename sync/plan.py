"""Valid rows + the partners that exist → one decision per row, on columns (no I/O).

The rules (design.md, "Matching"):
- a later row with the same email or tenant id as an earlier valid row is a `duplicate`;
- a remote partner with the row's tenant id, or with its email while the tenant ids agree or one
  side has none, means `exists`;
- the tenant id and the email pointing at two different partners, or the email belonging to a
  partner with another tenant id, is a `conflict`;
- anything else is a `create`.

Rows whose keys are unique in the input can be neither duplicates nor have any: they are the
first of their keys at once, and only rows that share a key are split in row order
(`_first_rows`). Matching is two joins with the index of existing partners (by email key, by
tenant id); the plain outcomes (nothing found; found by one key with nothing contradicting) are
decided in columns, and every other row by `decide`, the one statement of the rule for a single
row, which the worker also applies to what a lookup finds after an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from sync import keys as hashed_keys
from sync.earlier_runs import Remembered
from sync.index import FIRST_TENANT, ExistingPartners, PartnerColumns
from sync.index import ID as PARTNER_ID
from sync.index import KEY as PARTNER_KEY
from sync.index import TENANT as PARTNER_TENANT
from sync.mapping import ROW
from sync.models import Action, Candidate, Outcome, PlanEntry, RemotePartner
from sync.plan_frame import (
    ACTION,
    ACTION_TYPE,
    FIELD,
    FIELD_TYPE,
    MESSAGE,
    MESSAGE_TYPE,
    REMOTE_ID,
    PlanFrame,
    entries_frame,
    in_row_order,
)
from sync.validate import EMAIL, KEY, TENANT

MATCHED_BY_EMAIL = "matched by email"

# The partners a row's keys found, as joined columns: the partner its email key matches, and
# the one its tenant id matches.
EMAIL_PARTNER = "email_partner"
EMAIL_PARTNER_TENANT = "email_partner_tenant"
TENANT_PARTNER = "tenant_partner"
TENANT_PARTNER_HAS_EMAIL = "tenant_partner_has_email"  # it has the row's email key
_DECIDED = "decided"  # the action, where the columns settle the row alone
_FIRST = "first"  # the first row of its email / tenant id
_EMAIL_AT = "email_at"  # the position in the index's by_key of the partner the email key matches


def matched_by_tenant(tenant_label: str) -> str:
    """The message of a row found by its tenant id (`tenant_label`: the provider's name)."""
    return f"matched by {tenant_label}"


def decide(
    candidate: Candidate,
    by_email: RemotePartner | None,
    by_tenant: RemotePartner | None,
    tenant_label: str = "tenantId",
) -> PlanEntry:
    """`exists`, `conflict` or `create` for one first-of-its-key row, from the partner its email
    key matches and the one its tenant id matches (either may be None).

    `tenant_label` is the provider's name for the tenant id field, for the messages.
    """
    if by_tenant and by_email and by_tenant.id != by_email.id:
        message = (
            f"{tenant_label} belongs to {by_tenant.describe(tenant_label)} but the email "
            f"belongs to {by_email.describe(tenant_label)}"
        )
        return _entry(candidate, Action.CONFLICT, by_tenant.id, message, tenant_label)
    if by_tenant:
        message = matched_by_tenant(tenant_label)
        if by_tenant.key != candidate.key:
            message += f" (remote email {by_tenant.email})"
        return _entry(candidate, Action.EXISTS, by_tenant.id, message)
    if by_email:
        if candidate.tenant_id and by_email.tenant_id and by_email.tenant_id != candidate.tenant_id:
            message = (
                f"the email belongs to {by_email.describe(tenant_label)} "
                f"with another {tenant_label}"
            )
            return _entry(candidate, Action.CONFLICT, by_email.id, message, "email")
        return _entry(candidate, Action.EXISTS, by_email.id, MATCHED_BY_EMAIL)
    return _entry(candidate, Action.CREATE)


def _entry(
    candidate: Candidate,
    action: Action,
    remote_id: str | None = None,
    message: str = "",
    field: str | None = None,
) -> PlanEntry:
    return PlanEntry(
        row=candidate.row,
        action=action,
        candidate=candidate if action is Action.CREATE else None,
        remote_id=remote_id,
        message=message,
        field=field,
        email=candidate.email,
        tenant_id=candidate.tenant_id,
    )


@dataclass(frozen=True, slots=True)
class FirstRows:
    """The first valid row of each email / tenant id, and every later row as a duplicate."""

    keys: pl.DataFrame  # ROW, EMAIL, KEY, TENANT: every valid row
    first: pl.Series  # per row of `keys`: whether it is the first of its email / tenant id
    duplicates: pl.DataFrame  # plan entries

    @property
    def firsts(self) -> pl.DataFrame:
        """The first rows' keys (a copy: made when asked for, not held)."""
        return self.keys.filter(self.first)

    def candidates(self) -> Iterator[Candidate]:
        """The first rows as candidates without payloads (what lookups need)."""
        return candidates_of(self.firsts)


def candidates_of(keys: pl.DataFrame) -> Iterator[Candidate]:
    """Rows of a keys frame (ROW, EMAIL, TENANT) as candidates without payloads."""
    for row, email, tenant in keys.select(ROW, EMAIL, TENANT).iter_rows():
        yield Candidate(row=row, payload={}, email=email, tenant_id=tenant)


def split_duplicates(keys: pl.DataFrame, tenant_label: str = "tenantId") -> FirstRows:
    """Separate the first row of each key from later rows with the same email or tenant id.

    `tenant_label` is the provider's name for the tenant id, for the messages."""
    shared = hashed_keys.maybe_repeated(keys, KEY)
    if keys[TENANT].null_count() < keys.height:  # else a provider without tenant ids
        shared |= keys[TENANT].is_not_null() & hashed_keys.maybe_repeated(keys, TENANT)
    sharing = keys.filter(shared)
    first_rows, duplicates = _first_rows(
        sharing.select(ROW, EMAIL, KEY, TENANT).iter_rows(), tenant_label
    )
    first = ~shared | keys[ROW].is_in(pl.Series(first_rows, dtype=pl.Int64).implode())
    return FirstRows(keys=keys, first=first, duplicates=entries_frame(duplicates))


def _first_rows(
    rows: Iterable[tuple[int, str, str, str | None]], tenant_label: str
) -> tuple[list[int], list[PlanEntry]]:
    """Of rows that share keys, (row, email, email key, tenant id) in row order: the first of
    each email / tenant id, and a `duplicate` entry for every later row.

    A later row is a duplicate of the first row that has its email or, failing that, its tenant
    id; a duplicate claims neither key, so a row after it may still be a first.
    """
    firsts: list[int] = []
    duplicates: list[PlanEntry] = []
    first_by_email: dict[str, int] = {}
    first_by_tenant: dict[str, int] = {}
    for row, email, key, tenant in rows:
        earlier, same = first_by_email.get(key), "email"
        if earlier is None and tenant:
            earlier, same = first_by_tenant.get(tenant), tenant_label
        if earlier is not None:
            duplicates.append(
                PlanEntry(
                    row=row,
                    action=Action.DUPLICATE,
                    message=f"same {same} as row {earlier}",
                    email=email,
                    tenant_id=tenant,
                )
            )
            continue
        first_by_email[key] = row
        if tenant:
            first_by_tenant[tenant] = row
        firsts.append(row)
    return firsts, duplicates


def needing_check(keys: pl.DataFrame, remembered: Remembered) -> pl.DataFrame:
    """The rows the provider must be asked about, given what earlier runs saw: the email key was
    never seen, or was seen with another tenant id (both set; it may have changed since)."""
    if not remembered:
        return keys
    seen = pl.DataFrame(
        {
            "seen_key": list(remembered),
            "seen_tenant": [tenant for tenant, _ in remembered.values()],
            "was_seen": True,
        },
        schema={"seen_key": pl.String, "seen_tenant": pl.String, "was_seen": pl.Boolean},
    )
    joined = keys.join(seen, left_on=KEY, right_on="seen_key", how="left")
    other_tenant = _set(TENANT) & _set("seen_tenant") & (pl.col(TENANT) != pl.col("seen_tenant"))
    needed = pl.col("was_seen").is_null() | other_tenant
    return joined.filter(needed).select(keys.columns).sort(ROW)


def match(
    rows: FirstRows,
    invalid: list[Outcome],
    partners: ExistingPartners,
    tenant_label: str = "tenantId",
) -> PlanFrame:
    """One entry per input row: invalid rows, duplicates, and each first row matched against
    the partners that exist (exists / conflict / create)."""
    columns = partners.columns
    by_key = _EmailPartner(columns.by_key)
    found = rows.keys.with_columns(
        rows.first.alias(_FIRST),
        hashed_keys.positions(rows.keys, KEY, columns.by_key, PARTNER_KEY).alias(_EMAIL_AT),
    )
    settled = found.select(pl.col(_FIRST) & by_key.settles()).to_series()
    unsettled = found.filter(pl.col(_FIRST) & ~settled).with_columns(
        by_key.column(PARTNER_ID).alias(EMAIL_PARTNER),
        by_key.column(PARTNER_TENANT).alias(EMAIL_PARTNER_TENANT),
    )
    plain_looked_up, undecided = _decide_plain(_tenant_partners(unsettled, columns), tenant_label)
    others = [*_invalid_entries(invalid), *_decide_rows(undecided, columns, tenant_label)]
    few = pl.concat([plain_looked_up, entries_frame(others), rows.duplicates]).sort(ROW)
    known = found.select(*by_key.settled_entries(tenant_label))
    ids = {REMOTE_ID: (_EMAIL_AT, columns.by_key[PARTNER_ID])}  # gathered once, in the end
    return PlanFrame(frame=in_row_order(known, settled, few, ids))


@dataclass(frozen=True, slots=True)
class _EmailPartner:
    """The partner a row's email key matches, read from the index at the row's _EMAIL_AT
    position: only the columns an expression asks for are gathered, as it runs."""

    by_key: pl.DataFrame  # the index's by_key

    def column(self, name: str) -> pl.Expr:
        return pl.lit(self.by_key[name]).gather(pl.col(_EMAIL_AT))

    def settles(self) -> pl.Expr:
        """The row's email key settles it alone: its partner is also the one its tenant id
        matches, or the row has no tenant id (so that nothing else can match)."""
        same_partner = (self.column(PARTNER_TENANT) == pl.col(TENANT)) & self.column(FIRST_TENANT)
        return same_partner.fill_null(False) | ~_set(TENANT)

    def settled_entries(self, tenant_label: str) -> list[pl.Expr]:
        """The plan's columns of a row its email key settles: `decide`'s answer (exists, by
        tenant id when the row has one; else create), with _EMAIL_AT in place of REMOTE_ID."""
        found = pl.col(_EMAIL_AT).is_not_null()
        return [
            pl.col(ROW),
            pl.when(found)
            .then(_action(Action.EXISTS))
            .otherwise(_action(Action.CREATE))
            .alias(ACTION),
            pl.col(_EMAIL_AT),  # where its partner's id is (the id is gathered once, later)
            pl.when(~found)
            .then(_message(""))
            .when(_set(TENANT))
            .then(_message(matched_by_tenant(tenant_label)))
            .otherwise(_message(MATCHED_BY_EMAIL))
            .alias(MESSAGE),
            pl.lit(None, dtype=FIELD_TYPE).alias(FIELD),
            pl.col(EMAIL),
            pl.col(TENANT),
        ]


def _tenant_partners(unsettled: pl.DataFrame, columns: PartnerColumns) -> pl.LazyFrame:
    """Rows the email key does not settle, beside the partner their tenant id matches."""
    by_tenant = columns.by_tenant.rename(
        {PARTNER_TENANT: "tenant_partner_tenant", PARTNER_ID: TENANT_PARTNER, PARTNER_KEY: "tp_key"}
    )
    found = [ROW, EMAIL, TENANT, EMAIL_PARTNER, EMAIL_PARTNER_TENANT]
    return (
        hashed_keys.left_join(unsettled, by_tenant, TENANT, "tenant_partner_tenant")
        .lazy()
        .select(
            *found,
            TENANT_PARTNER,
            (pl.col("tp_key") == pl.col(KEY)).alias(TENANT_PARTNER_HAS_EMAIL),
        )
    )


def _action(action: Action) -> pl.Expr:
    return pl.lit(action.value, dtype=ACTION_TYPE)


def _message(message: str) -> pl.Expr:
    return pl.lit(message, dtype=MESSAGE_TYPE)


def _set(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) != "")


def _decide_plain(found: pl.LazyFrame, tenant_label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plain decisions as plan entries, and the rows `decide` must settle.

    Plain, and `decide`'s answer for them: nothing found (create); found by tenant id, the same
    partner as by email if any, with the row's email (exists); found by email alone with no
    other tenant id (exists).
    """
    by_tenant = pl.col(TENANT_PARTNER).is_not_null()
    by_email = pl.col(EMAIL_PARTNER).is_not_null()
    plain_tenant = (
        by_tenant
        & (~by_email | (pl.col(EMAIL_PARTNER) == pl.col(TENANT_PARTNER)))
        & pl.col(TENANT_PARTNER_HAS_EMAIL).fill_null(False)
    )
    other_tenant = _set(TENANT) & _set(EMAIL_PARTNER_TENANT)
    other_tenant = other_tenant & (pl.col(EMAIL_PARTNER_TENANT) != pl.col(TENANT))
    plain_email = ~by_tenant & by_email & ~other_tenant
    action = (
        pl.when(plain_tenant | plain_email)
        .then(_action(Action.EXISTS))
        .when(~by_tenant & ~by_email)
        .then(_action(Action.CREATE))
    )
    decided = found.with_columns(action.alias(_DECIDED)).collect()
    plain = decided.filter(pl.col(_DECIDED).is_not_null()).select(
        ROW,
        pl.col(_DECIDED).alias(ACTION),
        pl.when(plain_tenant)
        .then(pl.col(TENANT_PARTNER))
        .otherwise(pl.col(EMAIL_PARTNER))
        .alias(REMOTE_ID),
        pl.when(plain_tenant)
        .then(_message(matched_by_tenant(tenant_label)))
        .when(plain_email)
        .then(_message(MATCHED_BY_EMAIL))
        .otherwise(_message(""))
        .alias(MESSAGE),
        pl.lit(None, dtype=FIELD_TYPE).alias(FIELD),
        EMAIL,
        TENANT,
    )
    undecided = decided.filter(pl.col(_DECIDED).is_null()).select(
        ROW, EMAIL, TENANT, EMAIL_PARTNER, EMAIL_PARTNER_TENANT, TENANT_PARTNER
    )
    return plain, undecided


def _decide_rows(
    undecided: pl.DataFrame, columns: PartnerColumns, tenant_label: str
) -> list[PlanEntry]:
    """`decide` for the rows whose match is not plain, with the partners they found."""
    ids = [*undecided[EMAIL_PARTNER].drop_nulls(), *undecided[TENANT_PARTNER].drop_nulls()]
    emails = columns.emails(ids) if ids else {}
    entries = []
    for row, email, tenant, email_partner, its_tenant, tenant_partner in undecided.iter_rows():
        candidate = Candidate(row=row, payload={}, email=email, tenant_id=tenant)
        by_email = by_tenant = None
        if email_partner is not None:
            by_email = RemotePartner(email_partner, emails.get(email_partner), its_tenant)
        if tenant_partner is not None:
            by_tenant = RemotePartner(tenant_partner, emails.get(tenant_partner), tenant)
        entries.append(decide(candidate, by_email, by_tenant, tenant_label))
    return entries


def _invalid_entries(invalid: list[Outcome]) -> list[PlanEntry]:
    return [
        PlanEntry(
            row=outcome.row,
            action=Action.INVALID,
            message=outcome.message,
            field=outcome.field,
            email=outcome.email,
            tenant_id=outcome.tenant_id,
        )
        for outcome in invalid
    ]
