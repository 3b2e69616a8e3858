"""The partners that already exist at the provider, kept as columns (id, email, key, tenant id).

A million partners take about a hundred megabytes here, against several hundred as Python
objects. Partners arrive page by page (or lookup by lookup) and are appended in chunks; a partner
seen twice (a page that shifted while listing) counts once, at its first sighting, and the first
partner seen with an email or tenant id is the one that key matches: as `plan.RemoteIndex` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from sync.columnar import keys, text
from sync.models import RemotePartner

ID, EMAIL, KEY, TENANT = "id", "email", "key", "tenant_id"
FIRST_TENANT = "first_tenant"  # the partner is the one its tenant id matches
_SCHEMA = {ID: pl.String, EMAIL: pl.String, TENANT: pl.String}
_CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class PartnerIndex:
    """The partners, and which partner each email key and each tenant id matches.

    `by_key` and `by_tenant` carry `keys.HASH` (the hash of their key) when no two of their keys
    share a hash, so that joins may compare hashes (`keys.left_join`). When every partner is the
    first with its key (the usual case) they are column selections of `partners`, not copies.
    """

    partners: pl.DataFrame  # ID, EMAIL, KEY, TENANT: every distinct partner
    by_key: pl.DataFrame  # KEY, ID, TENANT, FIRST_TENANT: one row per email key
    by_tenant: pl.DataFrame  # TENANT, ID, KEY: one row per tenant id

    @classmethod
    def build(cls, whole: pl.DataFrame) -> PartnerIndex:
        first = keys.first_sightings(whole, ID)
        distinct = whole if first.all() else whole.filter(first)
        partners = distinct.with_columns(
            pl.when(pl.col(EMAIL).is_not_null()).then(text.email_keys(pl.col(EMAIL))).alias(KEY)
        ).select(ID, EMAIL, KEY, TENANT)
        first_key = _usable(partners, KEY) & keys.first_sightings(partners, KEY)
        first_tenant = _usable(partners, TENANT) & keys.first_sightings(partners, TENANT)
        flagged = partners.with_columns(first_tenant.alias(FIRST_TENANT))
        by_key = _subset(flagged, first_key).select(KEY, ID, TENANT, FIRST_TENANT)
        by_tenant = _subset(partners, first_tenant).select(TENANT, ID, KEY)
        return cls(
            partners=partners,
            by_key=keys.with_hash(by_key, KEY),
            by_tenant=keys.with_hash(by_tenant, TENANT),
        )

    def emails(self, ids: list[str]) -> dict[str, str | None]:
        """The emails of these partners, by id."""
        found = self.partners.filter(pl.col(ID).is_in(ids)).select(ID, EMAIL)
        return dict(found.iter_rows())


def _subset(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    return frame if mask.all() else frame.filter(mask)


class ExistingPartners:
    """Remote partners, gathered in chunks; `index` is ready for joins with the input's keys."""

    def __init__(self) -> None:
        self._chunks: list[pl.DataFrame] = []
        self._pending: list[tuple[str, str | None, str | None]] = []
        self._index: PartnerIndex | None = None

    @classmethod
    def from_columns(
        cls,
        ids: Sequence[str] | pl.Series,
        emails: Sequence[str | None] | pl.Series,
        tenants: Sequence[str | None] | pl.Series,
    ) -> ExistingPartners:
        """Partners given as three parallel columns (lists or polars Series)."""
        existing = cls()
        existing._chunks.append(
            pl.DataFrame({ID: ids, EMAIL: emails, TENANT: tenants}, schema=_SCHEMA)
        )
        return existing

    @classmethod
    def of(cls, partners: Iterable[RemotePartner]) -> ExistingPartners:
        """These partners, the first sighting of each winning, as `plan.RemoteIndex` has it."""
        existing = cls()
        existing.extend(partners)
        return existing

    def extend_columns(
        self,
        ids: Sequence[str],
        emails: Sequence[str | None],
        tenants: Sequence[str | None],
    ) -> None:
        """Partners given as three parallel columns, after those already here."""
        self._flush()
        self._chunks.append(pl.DataFrame({ID: ids, EMAIL: emails, TENANT: tenants}, schema=_SCHEMA))
        self._index = None

    def add(self, partner: RemotePartner) -> None:
        self._pending.append((partner.id, partner.email, partner.tenant_id))
        self._index = None
        if len(self._pending) >= _CHUNK:
            self._flush()

    def extend(self, partners: Iterable[RemotePartner]) -> None:
        for partner in partners:
            self.add(partner)

    def __len__(self) -> int:
        return self.index.partners.height

    @property
    def index(self) -> PartnerIndex:
        """Built on first use after a change."""
        if self._index is None:
            self._flush()
            frames = self._chunks or [pl.DataFrame(schema=_SCHEMA)]
            whole = pl.concat(frames) if len(frames) > 1 else frames[0]
            self._chunks = [whole]
            self._index = PartnerIndex.build(whole)
        return self._index

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(pl.DataFrame(self._pending, schema=_SCHEMA, orient="row"))
            self._pending = []


def _usable(frame: pl.DataFrame, name: str) -> pl.Series:
    # An empty key matches nothing (RemoteIndex skips it the same way).
    column = frame[name]
    return column.is_not_null() & (column != "")
