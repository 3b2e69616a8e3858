"""The partners that already exist at the provider, kept as columns (id, email, key, tenant id).

A million partners take about a hundred megabytes here, against several hundred as Python
objects. Partners arrive page by page (or lookup by lookup) and are appended in chunks; a partner
seen twice (a page that shifted while listing) counts once, at its first sighting, and the first
partner seen with an email or tenant id is the one that key matches: as `plan.RemoteIndex` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from sync.columnar import text
from sync.models import RemotePartner

ID, EMAIL, KEY, TENANT = "id", "email", "key", "tenant_id"
_SCHEMA = {ID: pl.String, EMAIL: pl.String, TENANT: pl.String}
_CHUNK = 50_000


class ExistingPartners:
    """Remote partners as columns; `frame` is ready for joins with the input's keys."""

    def __init__(self) -> None:
        self._chunks: list[pl.DataFrame] = []
        self._pending: list[tuple[str, str | None, str | None]] = []
        self._frame: pl.DataFrame | None = None

    @classmethod
    def from_columns(
        cls, ids: Sequence[str], emails: Sequence[str | None], tenants: Sequence[str | None]
    ) -> ExistingPartners:
        """Partners given as three parallel columns (lists or polars Series)."""
        existing = cls()
        existing._chunks.append(
            pl.DataFrame({ID: ids, EMAIL: emails, TENANT: tenants}, schema=_SCHEMA)
        )
        return existing

    def add(self, partner: RemotePartner) -> None:
        self._pending.append((partner.id, partner.email, partner.tenant_id))
        self._frame = None
        if len(self._pending) >= _CHUNK:
            self._flush()

    def extend(self, partners: Iterable[RemotePartner]) -> None:
        for partner in partners:
            self.add(partner)

    def __len__(self) -> int:
        return self.frame.height

    @property
    def frame(self) -> pl.DataFrame:
        """Every distinct partner (by id, first sighting first) with its email match key."""
        if self._frame is None:
            self._flush()
            frames = self._chunks or [pl.DataFrame(schema=_SCHEMA)]
            whole = pl.concat(frames) if len(frames) > 1 else frames[0]
            self._chunks = [whole]
            self._frame = (
                whole.lazy()
                .filter(pl.col(ID).is_first_distinct())
                .with_columns(
                    pl.when(pl.col(EMAIL).is_not_null())
                    .then(text.email_keys(pl.col(EMAIL)))
                    .alias(KEY)
                )
                .select(ID, EMAIL, KEY, TENANT)
                .collect()
            )
        return self._frame

    def by_key(self) -> pl.DataFrame:
        """The partner each email key matches: the first one seen with it."""
        return self.frame.filter(_usable(KEY) & pl.col(KEY).is_first_distinct())

    def by_tenant(self) -> pl.DataFrame:
        """The partner each tenant id matches: the first one seen with it."""
        return self.frame.filter(_usable(TENANT) & pl.col(TENANT).is_first_distinct())

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(pl.DataFrame(self._pending, schema=_SCHEMA, orient="row"))
            self._pending = []


def _usable(name: str) -> pl.Expr:
    # An empty key matches nothing (RemoteIndex skips it the same way).
    return pl.col(name).is_not_null() & (pl.col(name) != "")
