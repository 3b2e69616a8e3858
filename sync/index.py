"""The partners that already exist at the provider: one index, kept as columns.

It is filled once per run, page by page by a full scan or answer by answer by lookups
(sync/remote.py), then by what earlier runs on the account remembered (the checkpoint); the plan
joins the input's keys with it, and the worker reads it to settle a create whose outcome is
unknown. A million partners take about a hundred megabytes here, against several hundred as
Python objects.

A partner seen twice (a page that shifted while listing) counts once, at its first sighting, and
the first partner seen with an email key or a tenant id is the one that key matches: partners
from the provider come before remembered ones, so fresh answers win. An empty key matches
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from sync import keys, text
from sync.earlier_runs import Remembered
from sync.models import Candidate, RemotePartner

ID, EMAIL, KEY, TENANT = "id", "email", "key", "tenant_id"
REMEMBERED = "remembered"  # known from an earlier run, not from this run's answers
FIRST_TENANT = "first_tenant"  # the partner is also the one its tenant id matches
CODE = "code"
SIGHTING = "sighting"  # a partner's place among every sighting gathered here
_SCHEMA = {ID: pl.String, EMAIL: pl.String, TENANT: pl.String, REMEMBERED: pl.Boolean}
# A code is held beside its partner's sighting number, not a copy of the partner's id.
_CODES_SCHEMA = {SIGHTING: pl.UInt32, CODE: pl.String}
# Partners gathered as Python tuples before they become a column chunk.
_CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class PartnerColumns:
    """The partners, and which partner each email key and each tenant id matches.

    `by_key` and `by_tenant` carry `keys.HASH` (the hash of their key) when no two of their keys
    share a hash, so that joins may compare hashes (`keys.left_join`). When every partner is the
    first with its key (the usual case) they are column selections of `partners`, not copies.
    """

    partners: pl.DataFrame  # ID, EMAIL, KEY, TENANT, REMEMBERED: every distinct partner
    by_key: pl.DataFrame  # KEY, ID, TENANT, FIRST_TENANT: one row per email key
    by_tenant: pl.DataFrame  # TENANT, ID, KEY: one row per tenant id

    @classmethod
    def build(cls, whole: pl.DataFrame) -> PartnerColumns:
        first = keys.first_sightings(whole, ID)
        distinct = whole if first.all() else whole.filter(first)
        partners = distinct.with_columns(_email_keys(distinct)).select(
            ID, EMAIL, KEY, TENANT, REMEMBERED
        )
        key_seen, tenant_seen = keys.sightings(partners, KEY), keys.sightings(partners, TENANT)
        first_key = _usable(partners, KEY) & key_seen.first
        first_tenant = _usable(partners, TENANT) & tenant_seen.first
        flagged = partners.with_columns(first_tenant.alias(FIRST_TENANT))
        by_key = _subset(flagged, first_key).select(KEY, ID, TENANT, FIRST_TENANT)
        by_tenant = _subset(partners, first_tenant).select(TENANT, ID, KEY)
        return cls(
            partners=partners,
            by_key=keys.with_hash(by_key, KEY, key_seen, first_key),
            by_tenant=keys.with_hash(by_tenant, TENANT, tenant_seen, first_tenant),
        )

    def emails(self, ids: list[str]) -> dict[str, str | None]:
        """The emails of these partners, by id."""
        found = self.partners.filter(pl.col(ID).is_in(ids)).select(ID, EMAIL)
        return dict(found.iter_rows())


class ExistingPartners:
    """The provider's partners, gathered in chunks; `columns` is ready for joins."""

    def __init__(self) -> None:
        self._chunks: list[pl.DataFrame] = []
        self._gathered = 0  # sightings in `_chunks`
        self._pending: list[tuple[str, str | None, str | None, bool]] = []
        self._codes: list[tuple[int, str]] = []
        self._code_chunks: list[pl.DataFrame] = []
        self._columns: PartnerColumns | None = None

    @classmethod
    def of(cls, partners: Iterable[RemotePartner]) -> ExistingPartners:
        """These partners, the first sighting of each winning."""
        existing = cls()
        existing.add(partners)
        return existing

    def add(self, partners: Iterable[RemotePartner]) -> None:
        """Partners the provider showed (a list page, a lookup's answer), after those here."""
        pending, codes = self._pending, self._codes
        for partner in partners:
            sighting = self._gathered + len(pending)
            pending.append((partner.id, partner.email, partner.tenant_id, False))
            codes.extend((sighting, code) for code in partner.codes)
        self._columns = None
        if len(pending) >= _CHUNK or len(codes) >= _CHUNK:
            self._flush()

    def add_remembered(self, remembered: Remembered) -> None:
        """Partners earlier runs saw, after those here (this run's answers win)."""
        if not remembered:
            return
        self._flush()
        ids = [remote_id for _, remote_id in remembered.values()]
        tenants = [tenant for tenant, _ in remembered.values()]
        chunk = pl.DataFrame(
            {ID: ids, EMAIL: list(remembered), TENANT: tenants, REMEMBERED: True}, schema=_SCHEMA
        )
        self._chunks.append(chunk)
        self._gathered += chunk.height
        self._columns = None

    def __len__(self) -> int:
        return self.columns.partners.height

    @property
    def columns(self) -> PartnerColumns:
        """Built on first use after a change."""
        if self._columns is None:
            self._flush()
            frames = self._chunks or [pl.DataFrame(schema=_SCHEMA)]
            whole = pl.concat(frames) if len(frames) > 1 else frames[0]
            self._chunks = [whole]
            self._columns = PartnerColumns.build(whole)
        return self._columns

    def matching(self, candidate: Candidate) -> tuple[RemotePartner | None, RemotePartner | None]:
        """The partner the row's email key matches, and the one its tenant id matches."""
        columns = self.columns
        by_key = columns.by_key.filter(pl.col(KEY) == candidate.key)
        by_email = _partner(columns, by_key[ID][0]) if by_key.height else None
        by_tenant = None
        if candidate.tenant_id:
            found = columns.by_tenant.filter(pl.col(TENANT) == candidate.tenant_id)
            by_tenant = _partner(columns, found[ID][0]) if found.height else None
        return by_email, by_tenant

    def seen(self) -> Iterator[tuple[str, str | None, str]]:
        """The partners this run's answers showed, as the checkpoint remembers them:
        (email key, tenant id, remote id), those with an email only."""
        has_key = pl.col(KEY).is_not_null() & (pl.col(KEY) != "")
        fresh = self.columns.partners.filter(~pl.col(REMEMBERED) & has_key)
        return fresh.select(KEY, TENANT, ID).iter_rows()

    def with_codes(self) -> Iterator[RemotePartner]:
        """The partners whose answers showed referral codes, with them, first sighting first
        (built as it is read: nothing is made unless codes are asked about)."""
        self._flush()
        if not self._code_chunks:
            return
        known = self.columns.partners
        codes = pl.concat(self._code_chunks)
        ids = self._chunks[0][ID].gather(codes[SIGHTING])  # `columns` gathered every chunk
        held = (
            codes.select(ids, CODE)
            .group_by(ID, maintain_order=True)
            .agg(pl.col(CODE).unique(maintain_order=True))
        )
        partners = held.join(known, on=ID, how="inner", maintain_order="left")
        for partner_id, codes_held, email, tenant in partners.select(
            ID, CODE, EMAIL, TENANT
        ).iter_rows():
            yield RemotePartner(partner_id, email, tenant, codes=tuple(codes_held))

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(pl.DataFrame(self._pending, schema=_SCHEMA, orient="row"))
            self._gathered += len(self._pending)
            self._pending = []
        if self._codes:
            self._code_chunks.append(pl.DataFrame(self._codes, schema=_CODES_SCHEMA, orient="row"))
            self._codes = []


def _email_keys(partners: pl.DataFrame) -> pl.Series:
    """The partners' email keys: where every email is its own key already (a provider that
    stores them trimmed and in lower case), the email column itself, not a copy of it."""
    emails = partners[EMAIL]
    if partners.select(text.is_own_key(pl.col(EMAIL)).fill_null(True).all()).item():
        return emails.alias(KEY)
    found = partners.select(
        pl.when(pl.col(EMAIL).is_not_null()).then(text.email_keys(pl.col(EMAIL))).alias(KEY)
    ).to_series()
    return emails.alias(KEY) if found.equals(emails, check_names=False) else found


def _partner(columns: PartnerColumns, partner_id: str) -> RemotePartner:
    row = columns.partners.filter(pl.col(ID) == partner_id).row(0, named=True)
    return RemotePartner(row[ID], row[EMAIL], row[TENANT])


def _subset(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    return frame if mask.all() else frame.filter(mask)


def _usable(frame: pl.DataFrame, name: str) -> pl.Series:
    column = frame[name]
    return column.is_not_null() & (column != "")
