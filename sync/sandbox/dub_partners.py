"""Dub's partner table in the sandbox: the enrolments with their unique keys (id, email,
tenantId, link keys, usernames, external ids), how a new one is made and stored, and the whole
table in list order, kept per sort until the next insert.

The emulator (dub.py) holds its lock around every call here.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.sandbox import dub_links as links
from sync.sandbox import dub_schema as schema
from sync.sandbox.base import JSON, UPPER_ALNUM, created_at_of, parse_iso, random_id, utc_iso
from sync.sandbox.dub_filters import ListFilter, sort_key

_ZERO_METRICS = {name: 0 for name in schema.METRICS}
# Deprecated names the list route still fills in, from the metrics above.
LEGACY_METRICS = {
    "clicks": "totalClicks",
    "leads": "totalLeads",
    "conversions": "totalConversions",
    "sales": "totalSales",
    "saleAmount": "totalSaleAmount",
}
# Fields a lenient insert computes itself rather than copying from the given ones.
_DERIVED = frozenset(
    {"id", "partnerId", "createdAt", "links", "email", "name", "tenantId", "username", "groupId"}
)
# An enrolment's fields in the order Dub's answers give them; a new one starts with each unset
# (the profile, payouts and rewards a partner fills in later) unless `new_record` sets it.
_FIELD_ORDER = (
    *("id", "name", "companyName", "email", "username", "image", "description", "country"),
    *("networkStatus", "defaultPayoutMethod", "paypalEmail", "stripeConnectId"),
    *("payoutsEnabledAt", "identityVerifiedAt", "programId", "partnerId", "tenantId"),
    *("createdAt", "status", "groupId", "links", "clickRewardId", "leadRewardId"),
    *("saleRewardId", "discountId", "applicationId", "bannedAt", "bannedReason", "tags"),
    *schema.METRICS,
    *("totalSales", "website", "youtube", "twitter", "linkedin", "instagram", "tiktok"),
)


class DubPartners:
    """One program's enrolments, indexed by every key Dub keeps unique."""

    def __init__(self, rng: random.Random, program_id: str, groups: links.Groups) -> None:
        self.rng = rng
        self.program_id = program_id
        self.groups = groups
        self.records: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}  # lower-cased, as MySQL's collation compares
        self.by_tenant: dict[str, dict[str, Any]] = {}
        self.order: dict[str, int] = {}  # enrolment id -> insertion rank
        self.link_keys = links.LinkKeys()
        self.usernames: set[str] = set()
        self.external_ids: set[str] = set()
        self.last_created = datetime(1970, 1, 1, tzinfo=UTC)
        # The whole table in list order, per (sortBy, descending), until the next insert: what a
        # database index gives, so that paging through 200,000 partners stays fast.
        self.version = 0
        self.sorted: dict[tuple[str, bool], tuple[int, list[dict[str, Any]], list[Any]]] = {}

    def insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        """Store a record that did not come through the API: no zod, but keys stay unique.

        Beyond the create body, a seed may give `links` (objects with a `key`, or bare keys)
        for the partner's links instead of the default one, and its `status` (banned,
        deactivated, archived, pending, ...); `username` seeds the default link's key, as a
        create's does, and Dub's own username is generated.
        """
        email, tenant, partner_id = self._seed_keys(fields, what)
        created = created_at_of(fields, "createdAt", created, what)
        group = fields.get("groupId")
        if group is not None and not isinstance(group, str):
            raise ValueError(f"{what}: groupId must be a string")
        clean: dict[str, Any] = {
            "email": email,
            "name": fields.get("name"),
            "username": fields.get("username"),
            "image": fields.get("image"),
            "tenantId": tenant,
            "groupId": self.groups.ensure(group).id if group else None,
            "country": fields.get("country"),
            "description": fields.get("description"),
            "linkProps": fields.get("linkProps")
            if isinstance(fields.get("linkProps"), dict)
            else None,
        }
        given_links = self._seed_links(fields.get("links"), what)
        record = self.new_record(clean, created, partner_id, given_links)
        # Any other field in the response shape (status, metrics, ...) is taken as given.
        for key, value in fields.items():
            if key in record and key not in _DERIVED:
                record[key] = value
        _check_seeded_status(record, what)
        self.store(record)
        return record

    def _seed_keys(
        self, fields: Mapping[str, JSON], what: str
    ) -> tuple[str, str | None, str | None]:
        """A seed record's email, tenantId and id, each checked to be new."""
        email = fields.get("email")
        if not isinstance(email, str) or not email.strip():
            raise ValueError(f"{what}: needs an email (a non-empty string)")
        email = email.strip()
        tenant = fields.get("tenantId")
        if tenant is not None and not isinstance(tenant, str):
            raise ValueError(f"{what}: tenantId must be a string")
        if email.lower() in self.by_email:
            raise ValueError(f"{what}: email {email} is already enrolled")
        if tenant is not None and tenant in self.by_tenant:
            raise ValueError(f"{what}: tenantId {tenant!r} is already enrolled")
        partner_id = fields.get("id")
        if partner_id is not None and (not isinstance(partner_id, str) or partner_id in self.by_id):
            raise ValueError(f"{what}: id {partner_id!r} is not a new string id")
        return email, tenant, partner_id

    def _seed_links(self, given: object, what: str) -> list[dict[str, Any]] | None:
        """The links a seed record gives, their keys claimed; None when it gives none."""
        if given is None:
            return None
        if not isinstance(given, list):
            raise ValueError(f"{what}: links must be a list of links (or of keys)")
        out: list[dict[str, Any]] = []
        for item in given:
            link = {"key": item} if isinstance(item, str) else item
            key = link.get("key") if isinstance(link, dict) else None
            if not isinstance(key, str) or not links.processed_key(key):
                raise ValueError(f"{what}: every link needs a non-empty string key")
            key = links.processed_key(key)
            if key in self.link_keys:
                raise ValueError(f"{what}: link key {key!r} is already taken")
            self.link_keys.claim(key)
            out.append({**links.link_record(self.rng, key), **link, "key": key})
        return out

    def next_created_at(self) -> datetime:
        # Kept strictly increasing: at the sandbox's speed many creates share a millisecond,
        # which at Dub's real pace is rare, and ties would make createdAt scans flaky.
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self.last_created:
            now = self.last_created + timedelta(milliseconds=1)
        return now

    def new_record(
        self,
        fields: Mapping[str, Any],
        created: datetime,
        partner_id: str | None = None,
        given_links: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        partner_id = partner_id or "pn_" + random_id(self.rng, UPPER_ALNUM, 24)
        email: str = fields["email"]
        name = fields.get("name") or email
        # Dub makes the username itself; the one sent only seeds the default link's key.
        username = links.generated_username(self.rng, name, email, self.usernames)
        self.usernames.add(username)
        if given_links is None:
            link = self._new_link(fields, fields.get("linkProps") or {})
            given_links = [link] if link else []
        record: dict[str, Any] = dict.fromkeys(_FIELD_ORDER)
        record.update(
            {
                "id": partner_id,
                "name": name,
                "email": email,
                "username": username,
                "image": None,  # external image URLs are uploaded later: the 201 shows null
                "description": fields.get("description"),
                "country": fields.get("country"),
                "networkStatus": "draft",
                "programId": self.program_id,
                "partnerId": partner_id,
                "tenantId": fields.get("tenantId"),
                "createdAt": utc_iso(created, digits=3),
                "status": "approved",
                "groupId": fields.get("groupId") or self.groups.default.id,
                "links": given_links,
                "tags": [],
                **_ZERO_METRICS,
                "totalSales": 0,
            }
        )
        for legacy, current in LEGACY_METRICS.items():
            record[legacy] = record[current]
        return record

    def _new_link(
        self, fields: Mapping[str, Any], props: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The default link: its key from the sent username (or the name, or the email), and
        silently suffixed with -xxxx when that key is taken, as Dub does."""
        external = props.get("externalId")
        if isinstance(external, str) and external in self.external_ids:
            # Default-link failures are swallowed by Dub: the partner gets no link.
            return None
        wanted = links.default_key_base(fields.get("username"), fields.get("name"), fields["email"])
        prefix = props.get("prefix")
        if prefix and wanted:
            wanted = f"{prefix.strip('/')}/{wanted}".lstrip("/")
        key = self.link_keys.claim_free(self.rng, wanted)
        if isinstance(external, str):
            self.external_ids.add(external)
        return links.link_record(self.rng, key)

    def store(self, record: dict[str, Any]) -> None:
        self.version += 1
        created = parse_iso(record["createdAt"])
        self.last_created = max(self.last_created, created)
        self.order[record["id"]] = len(self.records)
        self.records.append(record)
        self.by_id[record["id"]] = record
        self.by_email[record["email"].lower()] = record
        if record["tenantId"] is not None:
            self.by_tenant[record["tenantId"]] = record

    def find(self, tenant: str | None, email: str) -> dict[str, Any] | None:
        """The enrolment matching tenantId OR email; with two matches, the older row wins."""
        by_tenant = self.by_tenant.get(tenant) if tenant else None
        by_email = self.by_email.get(email.lower())
        if by_tenant is None or by_email is None:
            return by_tenant or by_email
        return min(by_tenant, by_email, key=lambda record: self.order[record["id"]])

    def page(self, sort_by: str, descending: bool, start: int, end: int) -> list[dict[str, Any]]:
        """Rows start..end of the whole table in this order; ties in a fresh random order, as
        shuffling everything before a stable sort would give."""
        cached = self.sorted.get((sort_by, descending))
        if cached is None or cached[0] != self.version:
            ordered = sorted(
                self.records, key=lambda row: sort_key(row.get(sort_by)), reverse=descending
            )
            keys = [sort_key(row.get(sort_by)) for row in ordered]
            cached = self.sorted[(sort_by, descending)] = (self.version, ordered, keys)
        _, ordered, keys = cached
        end = min(end, len(ordered))
        if start >= end:
            return []
        low, high = start, end
        while low > 0 and keys[low - 1] == keys[start]:
            low -= 1
        while high < len(ordered) and keys[high] == keys[end - 1]:
            high += 1
        window: list[dict[str, Any]] = []
        group_start = low
        for index in range(low + 1, high + 1):
            if index == high or keys[index] != keys[group_start]:
                group = ordered[group_start:index]
                self.rng.shuffle(group)
                window.extend(group)
                group_start = index
        return window[start - low : end - low]

    def candidates(self, rule: ListFilter) -> list[dict[str, Any]]:
        """The enrolments a filter may keep: the exact email and tenantId filters start from
        their index; every other filter reads the whole table."""
        if rule.everything:
            return list(self.records)
        if rule.email is not None:
            return [r for r in (self.by_email.get(rule.email.lower()),) if r is not None]
        if rule.tenant is not None:
            return [r for r in (self.by_tenant.get(rule.tenant),) if r is not None]
        return list(self.records)


def _check_seeded_status(record: dict[str, Any], what: str) -> None:
    """A seeded status must be one of Dub's; a banned partner gets its bannedAt."""
    if record["status"] not in schema.STATUSES:
        raise ValueError(
            f"{what}: status {record['status']!r} is not one of {', '.join(schema.STATUSES)}"
        )
    if record["status"] == "banned" and record["bannedAt"] is None:
        record["bannedAt"] = record["createdAt"]
