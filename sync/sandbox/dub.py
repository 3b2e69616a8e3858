"""Dub's partner API (providers.md section 1): upsert-on-create, bare-array lists, zod errors."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sync.sandbox import dub_links as links
from sync.sandbox import dub_schema as schema
from sync.sandbox.base import (
    EPOCH_MS,
    JSON,
    LIMIT,
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
from sync.sandbox.ratelimit import Limiter, SlidingWindow

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
_DERIVED = frozenset(
    {"id", "partnerId", "createdAt", "links", "email", "name", "tenantId", "username", "groupId"}
)
# What only the list and retrieve answers carry: the create answer (201) is the plain enrolment.
_READ_ONLY = ("tags", *_LEGACY_METRICS)
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


class DubEmulator(Emulator):
    """One workspace with one default program, as every partner endpoint assumes."""

    name = "dub"
    default_rate_limit = 1200  # Business plan, per minute per key

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.program_id = "prog_" + random_id(self.rng, UPPER_ALNUM, 24)
        self.groups = links.Groups(self.rng, self.program_id)
        for index, group in enumerate(options.groups):
            self.groups.add_given(group, f"group {index}")
        self._records: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}  # lower-cased, as MySQL's collation compares
        self._by_tenant: dict[str, dict[str, Any]] = {}
        self._order: dict[str, int] = {}  # enrolment id -> insertion rank
        self._link_keys = links.LinkKeys()
        self._usernames: set[str] = set()
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
            Route("GET", "/partners/links", self._links),
            Route("POST", "/partners/links", self._create_link, write=True),
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

    def limit_header_units(self, status: int, template: str) -> dict[str, str]:
        # The partner handlers build their success answers without the limiter's headers, so
        # there they ride only on errors; the links handlers forward them on every answer.
        # Reset and Retry-After are Upstash's reset, in epoch ms.
        if status < 400 and template not in links.FORWARDING_LIMIT_HEADERS:
            return {}
        return {
            "X-RateLimit-Limit": LIMIT,
            "X-RateLimit-Remaining": REMAINING,
            "X-RateLimit-Reset": EPOCH_MS,
            "Retry-After": EPOCH_MS,
        }

    def make_limiter(self, limit: int, window: float) -> Limiter:
        # Upstash's sliding window, as Dub's API counts each key (providers.md §6).
        return SlidingWindow(limit, window)

    # --- state ----------------------------------------------------------------------------

    def _stored(self) -> list[dict[str, Any]]:
        return self._records

    def _created_now(self) -> datetime:
        return self._next_created_at()

    def _insert_lenient(
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
        record = self._new_record(clean, created, partner_id, given_links)
        # Any other field in the response shape (status, metrics, ...) is taken as given.
        for key, value in fields.items():
            if key in record and key not in _DERIVED:
                record[key] = value
        _check_seeded_status(record, what)
        self._store(record)
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
        if email.lower() in self._by_email:
            raise ValueError(f"{what}: email {email} is already enrolled")
        if tenant is not None and tenant in self._by_tenant:
            raise ValueError(f"{what}: tenantId {tenant!r} is already enrolled")
        partner_id = fields.get("id")
        if partner_id is not None and (
            not isinstance(partner_id, str) or partner_id in self._by_id
        ):
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
            if key in self._link_keys:
                raise ValueError(f"{what}: link key {key!r} is already taken")
            self._link_keys.claim(key)
            out.append({**links.link_record(self.rng, key), **link, "key": key})
        return out

    def _next_created_at(self) -> datetime:
        # Kept strictly increasing: at the sandbox's speed many creates share a millisecond,
        # which at Dub's real pace is rare, and ties would make createdAt scans flaky.
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_created:
            now = self._last_created + timedelta(milliseconds=1)
        return now

    def _new_record(
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
        username = links.generated_username(self.rng, name, email, self._usernames)
        self._usernames.add(username)
        if given_links is None:
            link = self._new_link(fields, fields.get("linkProps") or {})
            given_links = [link] if link else []
        record: dict[str, Any] = {
            "id": partner_id,
            "name": name,
            "companyName": None,
            "email": email,
            "username": username,
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
            "groupId": fields.get("groupId") or self.groups.default.id,
            "links": given_links,
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
        """The default link: its key from the sent username (or the name, or the email), and
        silently suffixed with -xxxx when that key is taken, as Dub does."""
        external = props.get("externalId")
        if isinstance(external, str) and external in self._external_ids:
            # Default-link failures are swallowed by Dub: the partner gets no link.
            return None
        wanted = links.default_key_base(fields.get("username"), fields.get("name"), fields["email"])
        prefix = props.get("prefix")
        if prefix and wanted:
            wanted = f"{prefix.strip('/')}/{wanted}".lstrip("/")
        key = self._link_keys.claim_free(self.rng, wanted)
        if isinstance(external, str):
            self._external_ids.add(external)
        return links.link_record(self.rng, key)

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
                    return json_reply(201, _create_answer(found))
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
                return json_reply(201, _create_answer(found), committed=True)
            group = self._group_of(fields["groupId"])
            if isinstance(group, Reply):
                return group
            fields["groupId"] = group.id
            if tenant is not None and tenant in self._by_tenant:
                # Only reachable with tenantId "" (the lookup skips empty values): the unique
                # key refuses the second one, and Dub rethrows that as a 500.
                return error("internal_server_error", INTERNAL_MESSAGE)
            record = self._new_record(fields, self._next_created_at())
            self._store(record)
            return json_reply(201, _create_answer(record), committed=True)

    def _group_of(self, value: str | None) -> links.Group | Reply:
        """getGroupOrThrow: a `grp_…` id or a slug; 404 unknown, 403 another program's."""
        if not value:
            return self.groups.default
        group = self.groups.find(value)
        if group is None:
            return error("not_found", f'Group "{value}" not found.')
        if group.program_id != self.program_id:
            return error("forbidden", f'Group "{value}" not found in your program.')
        return group

    def _find(self, tenant: str | None, email: str) -> dict[str, Any] | None:
        """The enrolment matching tenantId OR email; with two matches, the older row wins."""
        by_tenant = self._by_tenant.get(tenant) if tenant else None
        by_email = self._by_email.get(email.lower())
        if by_tenant is None or by_email is None:
            return by_tenant or by_email
        return min(by_tenant, by_email, key=lambda record: self._order[record["id"]])

    # --- /partners/links -----------------------------------------------------------------

    def _enrolment_of(
        self, partner_id: str | None, tenant_id: str | None
    ) -> dict[str, Any] | Reply:
        """The enrolment a links route names (held lock): partnerId wins over tenantId."""
        if not partner_id and not tenant_id:
            return error("bad_request", "Either `partnerId` or `tenantId` must be provided.")
        found = self._by_id.get(partner_id) if partner_id else self._by_tenant.get(str(tenant_id))
        if found is None:
            return error("not_found", "Partner not found.")
        return found

    def _links(self, request: Request) -> Reply:
        with self.lock:
            found = self._enrolment_of(request.arg("partnerId"), request.arg("tenantId"))
            if isinstance(found, Reply):
                return found
            return json_reply(200, copy.deepcopy(found["links"]))

    def _create_link(self, request: Request) -> Reply:
        """POST /partners/links: one more link, with exactly the key asked for (409 if taken)."""
        try:
            body = json.loads(request.body)
        except ValueError:
            return error(
                "bad_request",
                "Invalid JSON format in request body. Please provide a valid JSON object.",
            )
        try:
            fields = schema.parse_link_body(body)
        except schema.Issue as issue:
            return error("unprocessable_entity", str(issue))
        with self.lock:
            found = self._enrolment_of(fields["partnerId"], fields["tenantId"])
            if isinstance(found, Reply):
                return found
            refused = self._link_refusal(fields)
            if refused is not None:
                return refused
            key = links.processed_key(fields["key"] or "")
            if key:
                self._link_keys.claim(key)
            else:
                key = self._link_keys.claim_free(self.rng, "")
            external = (fields["linkProps"] or {}).get("externalId")
            if isinstance(external, str):
                self._external_ids.add(external)
            link = links.link_record(self.rng, key, fields["url"])
            found["links"].append(link)
            created = utc_iso(self._next_created_at(), digits=3)
            answer = links.full_link(link, found, created, fields["comments"])
            return json_reply(201, answer, committed=True)

    def _link_refusal(self, fields: Mapping[str, Any]) -> Reply | None:
        """Why a new link cannot be made as asked (held lock), in the order Dub checks."""
        url = fields["url"]
        host = urlsplit(url).hostname if url else None
        if url and host != urlsplit(links.PROGRAM_URL).hostname:
            return error(
                "bad_request",
                f"The provided URL's domain ({host}) does not match the program's link domains.",
            )
        key = fields["key"]
        if key and not schema.valid_username(key):
            return error("unprocessable_entity", "Invalid key.")
        if key and links.processed_key(key) in self._link_keys:
            return error("conflict", "Duplicate key: This short link already exists.")
        external = (fields["linkProps"] or {}).get("externalId")
        if isinstance(external, str) and external in self._external_ids:
            return error(
                "conflict", "A link with this externalId already exists in this workspace."
            )
        return None

    # --- reads ----------------------------------------------------------------------------

    def _filtered(self, request: Request) -> list[dict[str, Any]]:
        """Records matching the shared list/count filters; raises schema.Issue on bad input."""
        status = schema.parse_choice(request.arg("status"), "status", schema.STATUSES, None)
        lists = {name: _filter_value(request.arg(name)) for name in _FILTER_LISTS}
        # Empty filters filter nothing: `?email=` is no email filter at all.
        email = request.arg("email") or None
        tenant = request.arg("tenantId") or None
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


def _create_answer(record: Mapping[str, Any]) -> dict[str, Any]:
    """The create's 201: the plain enrolled partner, without what only reads add."""
    return {key: copy.deepcopy(value) for key, value in record.items() if key not in _READ_ONLY}


def _check_seeded_status(record: dict[str, Any], what: str) -> None:
    """A seeded status must be one of Dub's; a banned partner gets its bannedAt."""
    if record["status"] not in schema.STATUSES:
        raise ValueError(
            f"{what}: status {record['status']!r} is not one of {', '.join(schema.STATUSES)}"
        )
    if record["status"] == "banned" and record["bannedAt"] is None:
        record["bannedAt"] = record["createdAt"]


def _unfiltered(request: Request) -> bool:
    """No filter at all: every enrolment, in list order. (An empty value filters nothing.)"""
    absent = ("status",)
    blank = ("email", "tenantId", "country", "groupId", "search", "partnerIds")
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
