"""Dub's partner API (providers.md section 1): upsert-on-create, bare-array lists, zod errors."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.sandbox import dub_schema as schema
from sync.sandbox.base import (
    EPOCH_MS,
    JSON,
    LIMIT,
    LOWER_ALNUM,
    REMAINING,
    UPPER_ALNUM,
    Emulator,
    Options,
    Reply,
    Request,
    Route,
    created_at_of,
    json_reply,
    parse_iso,
    random_id,
    utc_iso,
)

STATUS_OF = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "exceeded_limit": 403,
    "not_found": 404,
    "conflict": 409,
    "invite_pending": 409,
    "invite_expired": 410,
    "unprocessable_entity": 422,
    "rate_limit_exceeded": 429,
    "internal_server_error": 500,
}
DOC_URL = "https://dub.co/docs/api-reference/errors"
INTERNAL_MESSAGE = (
    "An internal server error occurred. Please contact our support if the problem persists."
)
LINK_DOMAIN = "refer.sandbox.dub"
PROGRAM_URL = "https://sandbox.example.com"
# Assumption (providers.md: inferred, UNCERTAIN): tenantId lands in a VARCHAR(191) column,
# and a longer value fails in the database, which Dub answers with a generic 500.
TENANT_ID_COLUMN = 191
_ZERO_METRICS = {name: 0 for name in schema.METRICS}
# Deprecated names the list route still fills in, from the metrics above.
_LEGACY_METRICS = {
    "clicks": "totalClicks",
    "leads": "totalLeads",
    "conversions": "totalConversions",
    "sales": "totalSales",
    "saleAmount": "totalSaleAmount",
}
_FILTER_LISTS = ("country", "groupId")
# Fields a lenient insert computes itself rather than copying from the given ones.
_DERIVED = frozenset({"id", "partnerId", "createdAt", "links", "email", "name", "tenantId"})
_GROUP_BY = ("status", "country", "groupId")


def error(code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Dub's error body; the doc_url anchor replaces only the first underscore."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "doc_url": f"{DOC_URL}#{code.replace('_', '-', 1)}",
        }
    }
    return json_reply(STATUS_OF[code], body, headers=headers)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class DubEmulator(Emulator):
    """One workspace with one default program, as every partner endpoint assumes."""

    name = "dub"
    default_rate_limit = 1200  # Business plan, per minute per key

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.program_id = "prog_" + random_id(self.rng, UPPER_ALNUM, 24)
        self.default_group_id = "grp_" + random_id(self.rng, UPPER_ALNUM, 24)
        self._groups = {self.default_group_id}
        self._records: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}  # lower-cased, as MySQL's collation compares
        self._by_tenant: dict[str, dict[str, Any]] = {}
        self._order: dict[str, int] = {}  # enrolment id -> insertion rank
        self._link_keys: set[str] = set()
        self._external_ids: set[str] = set()
        self._last_created = datetime(1970, 1, 1, tzinfo=UTC)
        # The whole table in list order, per (sortBy, descending), until the next insert: what a
        # database index gives, so that paging through 200,000 partners stays fast.
        self._version = 0
        self._sorted: dict[tuple[str, bool], tuple[int, list[dict[str, Any]], list[Any]]] = {}

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/partners", self._list),
            Route("GET", "/partners/count", self._count),
            Route("GET", "/partners/{partnerId}", self._retrieve),
            Route("POST", "/partners", self._create, write=True),
        )

    # --- protocol -------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Reply | None:
        value = request.header("Authorization")
        if value is None:
            return error("unauthorized", "Missing Authorization header.")
        if not value.startswith("Bearer "):
            return error(
                "bad_request",
                "Misconfigured authorization header. Did you forget to add 'Bearer '? "
                "Learn more: https://d.to/auth",
            )
        if not self.token_accepted(value[len("Bearer ") :].strip() or None):
            return error("unauthorized", "Unauthorized: Invalid API key.")
        return None

    def server_error(self, status: int) -> Reply:
        reply = error("internal_server_error", INTERNAL_MESSAGE)
        reply.status = status
        return reply

    def unknown_route(self, request: Request) -> Reply:
        return error("not_found", "The requested resource was not found.")

    def too_many_requests(self) -> Reply:
        return error("rate_limit_exceeded", "Too many requests.")

    def limit_header_units(self, status: int) -> dict[str, str]:
        # The limiter's headers ride only on errors: the partner handlers build their success
        # responses without them. Reset and Retry-After are Upstash's reset, in epoch ms.
        if status < 400:
            return {}
        return {
            "X-RateLimit-Limit": LIMIT,
            "X-RateLimit-Remaining": REMAINING,
            "X-RateLimit-Reset": EPOCH_MS,
            "Retry-After": EPOCH_MS,
        }

    # --- state ----------------------------------------------------------------------------

    def _stored(self) -> list[dict[str, Any]]:
        return self._records

    def _created_now(self) -> datetime:
        return self._next_created_at()

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        """Store a record that did not come through the API: no zod, but keys stay unique."""
        email = fields.get("email")
        if not isinstance(email, str) or not email.strip():
            raise ValueError(f"{what}: needs an email (a non-empty string)")
        email = email.strip()
        tenant = fields.get("tenantId")
        if tenant is not None and not isinstance(tenant, str):
            raise ValueError(f"{what}: tenantId must be a string")
        if email.lower() in self._by_email:
            raise ValueError(f"{what}: email {email} is already enrolled")
        if tenant is not None and tenant in self._by_tenant:
            raise ValueError(f"{what}: tenantId {tenant!r} is already enrolled")
        partner_id = fields.get("id")
        if partner_id is not None and (
            not isinstance(partner_id, str) or partner_id in self._by_id
        ):
            raise ValueError(f"{what}: id {partner_id!r} is not a new string id")
        created = created_at_of(fields, "createdAt", created, what)
        group = fields.get("groupId")
        if isinstance(group, str):
            self._groups.add(group)
        clean: dict[str, Any] = {
            "email": email,
            "name": fields.get("name"),
            "username": fields.get("username"),
            "image": fields.get("image"),
            "tenantId": tenant,
            "groupId": group if isinstance(group, str) else None,
            "country": fields.get("country"),
            "description": fields.get("description"),
            "linkProps": fields.get("linkProps")
            if isinstance(fields.get("linkProps"), dict)
            else None,
        }
        record = self._new_record(
            clean, created, partner_id if isinstance(partner_id, str) else None
        )
        # Any other field in the response shape (status, metrics, ...) is taken as given.
        for key, value in fields.items():
            if key in record and key not in _DERIVED:
                record[key] = value
        if isinstance(fields.get("links"), list):
            record["links"] = fields["links"]
        self._store(record)
        return record

    def _next_created_at(self) -> datetime:
        # Kept strictly increasing: at the sandbox's speed many creates share a millisecond,
        # which at Dub's real pace is rare, and ties would make createdAt scans flaky.
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_created:
            now = self._last_created + timedelta(milliseconds=1)
        return now

    def _new_record(
        self, fields: Mapping[str, Any], created: datetime, partner_id: str | None = None
    ) -> dict[str, Any]:
        partner_id = partner_id or "pn_" + random_id(self.rng, UPPER_ALNUM, 24)
        email: str = fields["email"]
        name = fields.get("name") or email
        props = fields.get("linkProps") or {}
        link = self._new_link(fields, props)
        record: dict[str, Any] = {
            "id": partner_id,
            "name": name,
            "companyName": None,
            "email": email,
            "username": fields.get("username"),
            # External image URLs are uploaded in the background: the 201 shows null.
            "image": None,
            "description": fields.get("description"),
            "country": fields.get("country"),
            "networkStatus": "draft",
            "defaultPayoutMethod": None,
            "paypalEmail": None,
            "stripeConnectId": None,
            "payoutsEnabledAt": None,
            "identityVerifiedAt": None,
            "programId": self.program_id,
            "partnerId": partner_id,
            "tenantId": fields.get("tenantId"),
            "createdAt": utc_iso(created, digits=3),
            "status": "approved",
            "groupId": fields.get("groupId") or self.default_group_id,
            "links": [link] if link else [],
            "clickRewardId": None,
            "leadRewardId": None,
            "saleRewardId": None,
            "discountId": None,
            "applicationId": None,
            "bannedAt": None,
            "bannedReason": None,
            "tags": [],
            **_ZERO_METRICS,
            "totalSales": 0,
            "website": None,
            "youtube": None,
            "twitter": None,
            "linkedin": None,
            "instagram": None,
            "tiktok": None,
        }
        for legacy, current in _LEGACY_METRICS.items():
            record[legacy] = record[current]
        return record

    def _new_link(
        self, fields: Mapping[str, Any], props: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        external = props.get("externalId")
        if isinstance(external, str) and external in self._external_ids:
            # Default-link failures are swallowed by Dub: the partner gets no link.
            return None
        email: str = fields["email"]
        base = fields.get("username") or _slug(fields.get("name") or email.split("@")[0])
        key = base or random_id(self.rng, LOWER_ALNUM, 7)
        while key in self._link_keys:
            key = f"{base}-{random_id(self.rng, LOWER_ALNUM, 4)}"
        self._link_keys.add(key)
        if isinstance(external, str):
            self._external_ids.add(external)
        prefix = props.get("prefix") or "/"
        short_key = f"{prefix.strip('/')}/{key}".lstrip("/")
        return {
            "id": "link_" + random_id(self.rng, UPPER_ALNUM, 24),
            "domain": LINK_DOMAIN,
            "key": short_key,
            "shortLink": f"https://{LINK_DOMAIN}/{short_key}",
            "url": PROGRAM_URL,
            "clicks": 0,
            "leads": 0,
            "conversions": 0,
            "sales": 0,
            "saleAmount": 0,
        }

    def _store(self, record: dict[str, Any]) -> None:
        self._version += 1
        created = parse_iso(record["createdAt"])
        self._last_created = max(self._last_created, created)
        self._order[record["id"]] = len(self._records)
        self._records.append(record)
        self._by_id[record["id"]] = record
        self._by_email[record["email"].lower()] = record
        if record["tenantId"] is not None:
            self._by_tenant[record["tenantId"]] = record

    # --- POST /partners -------------------------------------------------------------------

    def _create(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body)
        except ValueError:
            return error(
                "bad_request",
                "Invalid JSON format in request body. Please provide a valid JSON object.",
            )
        try:
            fields = schema.parse_create_body(body)
        except schema.Issue as issue:
            return error("unprocessable_entity", str(issue))
        tenant: str | None = fields["tenantId"]
        with self.lock:
            limit = self.options.partners_limit
            # The plan's partner cap is checked first, even for an already enrolled partner.
            if limit is not None and len(self._records) + 1 > limit:
                return error(
                    "forbidden",
                    f"You've reached your partners limit of {limit} for your current plan. "
                    "Upgrade your plan to add more partners.",
                )
            if tenant is not None and len(tenant) > TENANT_ID_COLUMN:
                # No row can hold it, so the write that follows (overwrite or insert) fails.
                return error("internal_server_error", INTERNAL_MESSAGE)
            found = self._find(tenant or None, fields["email"])
            if found is not None:
                if not tenant or found["tenantId"] == tenant:
                    # Upsert: the existing enrolment comes back as it is; the rest is ignored.
                    return json_reply(201, copy.deepcopy(found))
                if tenant in self._by_tenant:
                    return error(
                        "conflict",
                        f"The tenantId '{tenant}' is already in associated with another "
                        "partner in this program.",
                    )
                if found["tenantId"] is not None:
                    del self._by_tenant[found["tenantId"]]
                found["tenantId"] = tenant
                self._by_tenant[tenant] = found
                return json_reply(201, copy.deepcopy(found), committed=True)
            group = fields["groupId"]
            if group is not None and group not in self._groups:
                return error("not_found", "Group not found.")
            if tenant is not None and tenant in self._by_tenant:
                # Only reachable with tenantId "" (the lookup skips empty values): the unique
                # key refuses the second one, and Dub rethrows that as a 500.
                return error("internal_server_error", INTERNAL_MESSAGE)
            record = self._new_record(fields, self._next_created_at())
            self._store(record)
            return json_reply(201, copy.deepcopy(record), committed=True)

    def _find(self, tenant: str | None, email: str) -> dict[str, Any] | None:
        """The enrolment matching tenantId OR email; with two matches, the older row wins."""
        by_tenant = self._by_tenant.get(tenant) if tenant else None
        by_email = self._by_email.get(email.lower())
        if by_tenant is None or by_email is None:
            return by_tenant or by_email
        return min(by_tenant, by_email, key=lambda record: self._order[record["id"]])

    # --- reads ----------------------------------------------------------------------------

    def _filtered(self, request: Request) -> list[dict[str, Any]]:
        """Records matching the shared list/count filters; raises schema.Issue on bad input."""
        status = schema.parse_choice(request.arg("status"), "status", schema.STATUSES, None)
        lists = {name: _filter_value(request.arg(name)) for name in _FILTER_LISTS}
        email = request.arg("email")
        tenant = request.arg("tenantId")
        search = request.arg("search") if email is None else None
        ids_raw = request.arg("partnerIds")
        ids = {part for part in ids_raw.split(",") if part} if ids_raw else None
        with self.lock:
            if _unfiltered(request):
                return list(self._records)
            # The email and tenantId filters are exact matches: start from their index.
            if email is not None:
                rows = [r for r in (self._by_email.get(email.lower()),) if r is not None]
            elif tenant is not None:
                rows = [r for r in (self._by_tenant.get(tenant),) if r is not None]
            else:
                rows = list(self._records)
        out = []
        for row in rows:
            if status is not None and row["status"] != status:
                continue
            if not all(_passes(row.get(name), rule) for name, rule in lists.items()):
                continue
            if email is not None and (row["email"] or "").lower() != email.lower():
                continue
            if tenant is not None and row["tenantId"] != tenant:
                continue
            if ids is not None and row["id"] not in ids:
                continue
            if search and not _search_hit(row, search):
                continue
            out.append(row)
        return out

    def _list(self, request: Request) -> Reply:
        try:
            rows = [] if _unfiltered(request) else self._filtered(request)
            sort_by = schema.parse_sort_by(request.arg("sortBy"))
            order = schema.parse_choice(
                request.arg("sortOrder"), "sortOrder", ("asc", "desc"), "desc"
            )
            page = schema.parse_page(request.arg("page"))
            size = schema.parse_page_size(request.arg("pageSize"))
        except schema.Issue as issue:
            return error("unprocessable_entity", str(issue))
        start = (page - 1) * size
        if _unfiltered(request):
            chosen = self._page(sort_by, order == "desc", start, start + size)
            return json_reply(200, copy.deepcopy(chosen))
        # A single-column ORDER BY without a tie-breaker: rows that tie come back in whatever
        # order the database produces, which differs from one query to the next.
        self.rng.shuffle(rows)
        rows.sort(key=lambda row: _sort_key(row.get(sort_by)), reverse=order == "desc")
        return json_reply(200, copy.deepcopy(rows[start : start + size]))

    def _page(self, sort_by: str, descending: bool, start: int, end: int) -> list[dict[str, Any]]:
        """Rows start..end of the whole table in this order; ties in a fresh random order, as
        shuffling everything before a stable sort would give."""
        with self.lock:
            cached = self._sorted.get((sort_by, descending))
            if cached is None or cached[0] != self._version:
                ordered = sorted(
                    self._records, key=lambda row: _sort_key(row.get(sort_by)), reverse=descending
                )
                keys = [_sort_key(row.get(sort_by)) for row in ordered]
                cached = self._sorted[(sort_by, descending)] = (self._version, ordered, keys)
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

    def _count(self, request: Request) -> Reply:
        try:
            rows = self._filtered(request)
            group_by = schema.parse_choice(request.arg("groupBy"), "groupBy", _GROUP_BY, None)
        except schema.Issue as issue:
            return error("unprocessable_entity", str(issue))
        if group_by is None:
            return json_reply(200, len(rows))
        counts = Counter(row.get(group_by) for row in rows)
        return json_reply(
            200, [{group_by: value, "_count": n} for value, n in counts.most_common()]
        )

    def _retrieve(self, request: Request) -> Reply:
        with self.lock:
            record = self._by_id.get(request.params["partnerId"])
            found = copy.deepcopy(record) if record else None
        if found is None:
            return error("not_found", "Partner not found.")
        return json_reply(200, found)


def _unfiltered(request: Request) -> bool:
    """No filter at all: every enrolment, in list order. (An empty email or tenantId is a
    filter that matches nothing; empty lists and an empty search are none.)"""
    absent = ("status", "email", "tenantId")
    blank = ("country", "groupId", "search", "partnerIds")
    return all(request.arg(name) is None for name in absent) and all(
        not request.arg(name) for name in blank
    )


def _filter_value(raw: str | None) -> tuple[bool, set[str]] | None:
    """Dub's parseFilterValue: a comma list, negated (NOT IN) by a leading '-'."""
    if raw is None or raw == "":
        return None
    negate = raw.startswith("-")
    values = {part for part in (raw[1:] if negate else raw).split(",") if part}
    return negate, values


def _passes(value: object, rule: tuple[bool, set[str]] | None) -> bool:
    if rule is None:
        return True
    negate, values = rule
    return (value in values) != negate


def _search_hit(row: Mapping[str, Any], search: str) -> bool:
    if "@" in search:
        return (row["email"] or "").lower() == search.lower()
    if search.startswith("pn_"):
        return bool(row["id"] == search)
    needle = search.lower()
    haystack = (row["email"] or "", row["name"] or "", row["companyName"] or "")
    return any(needle in text.lower() for text in haystack)


def _sort_key(value: object) -> tuple[int, Any]:
    # NULLs sort first in ascending order, as MySQL puts them.
    if value is None:
        return (0, 0)
    return (1, value)
