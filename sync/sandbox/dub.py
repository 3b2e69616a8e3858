"""Dub's partner API (providers.md section 1): upsert-on-create, bare-array lists, zod errors."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
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
    json_reply,
    random_id,
    utc_iso,
)
from sync.sandbox.dub_filters import ListFilter, sort_key, unfiltered
from sync.sandbox.dub_partners import LEGACY_METRICS, DubPartners
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
# What only the list and retrieve answers carry: the create answer (201) is the plain enrolment.
_READ_ONLY = ("tags", *LEGACY_METRICS)
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
        self.table = DubPartners(self.rng, self.program_id, self.groups)

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
        return self.table.records

    def _created_now(self) -> datetime:
        return self.table.next_created_at()

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        return self.table.insert_lenient(fields, created, what)

    # --- POST /partners -------------------------------------------------------------------

    def _create(self, request: Request) -> Reply:
        fields = _parsed_body(request, schema.parse_create_body)
        if isinstance(fields, Reply):
            return fields
        tenant: str | None = fields["tenantId"]
        with self.lock:
            limit = self.options.partners_limit
            # The plan's partner cap is checked first, even for an already enrolled partner.
            if limit is not None and len(self.table.records) + 1 > limit:
                return error(
                    "forbidden",
                    f"You've reached your partners limit of {limit} for your current plan. "
                    "Upgrade your plan to add more partners.",
                )
            if tenant is not None and len(tenant) > TENANT_ID_COLUMN:
                # No row can hold it, so the write that follows (overwrite or insert) fails.
                return error("internal_server_error", INTERNAL_MESSAGE)
            found = self.table.find(tenant or None, fields["email"])
            if found is not None:
                if not tenant or found["tenantId"] == tenant:
                    # Upsert: the existing enrolment comes back as it is; the rest is ignored.
                    return json_reply(201, _create_answer(found))
                if tenant in self.table.by_tenant:
                    return error(
                        "conflict",
                        f"The tenantId '{tenant}' is already in associated with another "
                        "partner in this program.",
                    )
                if found["tenantId"] is not None:
                    del self.table.by_tenant[found["tenantId"]]
                found["tenantId"] = tenant
                self.table.by_tenant[tenant] = found
                return json_reply(201, _create_answer(found), committed=True)
            group = self._group_of(fields["groupId"])
            if isinstance(group, Reply):
                return group
            fields["groupId"] = group.id
            if tenant is not None and tenant in self.table.by_tenant:
                # Only reachable with tenantId "" (the lookup skips empty values): the unique
                # key refuses the second one, and Dub rethrows that as a 500.
                return error("internal_server_error", INTERNAL_MESSAGE)
            record = self.table.new_record(fields, self.table.next_created_at())
            self.table.store(record)
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

    # --- /partners/links -----------------------------------------------------------------

    def _enrolment_of(
        self, partner_id: str | None, tenant_id: str | None
    ) -> dict[str, Any] | Reply:
        """The enrolment a links route names (held lock): partnerId wins over tenantId."""
        if not partner_id and not tenant_id:
            return error("bad_request", "Either `partnerId` or `tenantId` must be provided.")
        found = (
            self.table.by_id.get(partner_id)
            if partner_id
            else self.table.by_tenant.get(str(tenant_id))
        )
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
        fields = _parsed_body(request, schema.parse_link_body)
        if isinstance(fields, Reply):
            return fields
        with self.lock:
            found = self._enrolment_of(fields["partnerId"], fields["tenantId"])
            if isinstance(found, Reply):
                return found
            refused = self._link_refusal(fields)
            if refused is not None:
                return refused
            key = links.processed_key(fields["key"] or "")
            if key:
                self.table.link_keys.claim(key)
            else:
                key = self.table.link_keys.claim_free(self.rng, "")
            external = (fields["linkProps"] or {}).get("externalId")
            if isinstance(external, str):
                self.table.external_ids.add(external)
            link = links.link_record(self.rng, key, fields["url"])
            found["links"].append(link)
            created = utc_iso(self.table.next_created_at(), digits=3)
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
        if key and links.processed_key(key) in self.table.link_keys:
            return error("conflict", "Duplicate key: This short link already exists.")
        external = (fields["linkProps"] or {}).get("externalId")
        if isinstance(external, str) and external in self.table.external_ids:
            return error(
                "conflict", "A link with this externalId already exists in this workspace."
            )
        return None

    # --- reads ----------------------------------------------------------------------------

    def _filtered(self, request: Request) -> list[dict[str, Any]]:
        """Records matching the shared list/count filters; raises schema.Issue on bad input."""
        rule = ListFilter.of(request)
        with self.lock:
            rows = self.table.candidates(rule)
        return rows if rule.everything else [row for row in rows if rule.passes(row)]

    def _list(self, request: Request) -> Reply:
        try:
            rows = [] if unfiltered(request) else self._filtered(request)
            sort_by = schema.parse_sort_by(request.arg("sortBy"))
            order = schema.parse_choice(
                request.arg("sortOrder"), "sortOrder", ("asc", "desc"), "desc"
            )
            page = schema.parse_page(request.arg("page"))
            size = schema.parse_page_size(request.arg("pageSize"))
        except schema.Issue as issue:
            return error("unprocessable_entity", str(issue))
        start = (page - 1) * size
        if unfiltered(request):
            with self.lock:
                chosen = self.table.page(sort_by, order == "desc", start, start + size)
            return json_reply(200, copy.deepcopy(chosen))
        # A single-column ORDER BY without a tie-breaker: rows that tie come back in whatever
        # order the database produces, which differs from one query to the next.
        self.rng.shuffle(rows)
        rows.sort(key=lambda row: sort_key(row.get(sort_by)), reverse=order == "desc")
        return json_reply(200, copy.deepcopy(rows[start : start + size]))

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
            record = self.table.by_id.get(request.params["partnerId"])
            found = copy.deepcopy(record) if record else None
        if found is None:
            return error("not_found", "Partner not found.")
        return json_reply(200, found)


def _parsed_body(
    request: Request, parse: Callable[[object], dict[str, Any]]
) -> dict[str, Any] | Reply:
    """A write's JSON body as `parse` reads it, or Dub's answer to a body it cannot use."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return error(
            "bad_request",
            "Invalid JSON format in request body. Please provide a valid JSON object.",
        )
    try:
        return parse(body)
    except schema.Issue as issue:
        return error("unprocessable_entity", str(issue))


def _create_answer(record: Mapping[str, Any]) -> dict[str, Any]:
    """The create's 201: the plain enrolled partner, without what only reads add."""
    return {key: copy.deepcopy(value) for key, value in record.items() if key not in _READ_ONLY}
