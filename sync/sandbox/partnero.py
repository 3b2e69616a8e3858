"""Partnero's partner API v1 (providers.md section 2): a Laravel app with simple pagination.

Assumptions where Partnero publishes nothing: the rate limit is 600 requests per minute with
Laravel's throttle headers; a duplicate email/id/key is a 422 with the texts the create page's
error table gives ("Email already exists", "ID already exists", "Key already exists");
input passes Laravel's default TrimStrings and ConvertEmptyStringsToNull middleware.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sync.sandbox.base import (
    EPOCH_SECONDS,
    JSON,
    LIMIT,
    LOWER_ALNUM,
    REMAINING,
    SECONDS,
    Emulator,
    Options,
    Reply,
    Request,
    Route,
    bearer_token,
    created_at_of,
    json_reply,
    random_id,
    utc_iso,
)
from sync.sandbox.partnero_input import (
    Rules,
    int_param,
    message,
    request_input,
    validation_error,
)

DEFAULT_LIMIT = 15
MAX_LIMIT = 250  # the docs' bound; the official n8n node stays within 10-100
PROGRAM_SITE = "https://sandbox.example.com"
_SERVER_ERRORS = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class PartneroEmulator(Emulator):
    """One affiliate program: one API key, its partners in creation order."""

    name = "partnero"
    default_rate_limit = 600  # assumption: Partnero publishes no number

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._rows: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}  # lower-cased: MySQL compares so
        self._by_key: dict[str, dict[str, Any]] = {}
        self._key_of: dict[str, str] = {}  # partner id -> referral key

    @property
    def routes(self) -> Sequence[Route]:
        routes = [
            Route("GET", "/v1/partners", self._list),
            Route("POST", "/v1/partners", self._create, write=True),
            Route("GET", "/v1/partners:search", self._search),
            Route("POST", "/v1/partners:invite", self._invite, write=True),
            Route("GET", "/v1/partners/{id}", self._retrieve),
        ]
        if self.options.email_lookup:
            # Undocumented (providers.md: UNCERTAIN); switched off, it is an unknown route.
            routes.append(Route("GET", "/v1/partner", self._lookup))
        return routes

    # --- protocol -------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Reply | None:
        if not self.token_accepted(bearer_token(request)):
            return message("Unauthenticated.", 401)
        return None

    def server_error(self, status: int) -> Reply:
        return message(_SERVER_ERRORS.get(status, "Server Error"), status)

    def unknown_route(self, request: Request) -> Reply:
        return message("Not found", 404)

    def too_many_requests(self) -> Reply:
        return message("Too Many Attempts.", 429)

    def limit_header_units(self, status: int, template: str) -> dict[str, str]:
        # Laravel's throttle middleware: limit and remaining on every response; on a 429 also
        # Retry-After in seconds and X-RateLimit-Reset as an epoch timestamp.
        units = {"X-RateLimit-Limit": LIMIT, "X-RateLimit-Remaining": REMAINING}
        if status == 429:
            units |= {"Retry-After": SECONDS, "X-RateLimit-Reset": EPOCH_SECONDS}
        return units

    # --- state ----------------------------------------------------------------------------

    def _stored(self) -> list[dict[str, Any]]:
        return self._rows

    def _seed_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        # Tags are shown as {"value": ...}; the referral key only inside the link.
        record["tags"] = [tag["value"] if isinstance(tag, dict) else tag for tag in record["tags"]]
        record["key"] = self._key_of[record["id"]]
        return record

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        email = fields.get("email")
        if not isinstance(email, str) or not email.strip():
            raise ValueError(f"{what}: needs an email (a non-empty string)")
        email = email.strip()
        if email.lower() in self._by_email:
            raise ValueError(f"{what}: email {email} is already a partner")
        partner_id, key = fields.get("id"), fields.get("key")
        if partner_id is not None and (
            not isinstance(partner_id, str | int) or str(partner_id) in self._by_id
        ):
            raise ValueError(f"{what}: id {partner_id!r} is not a new id")
        if key is not None and (not isinstance(key, str) or key in self._by_key):
            raise ValueError(f"{what}: key {key!r} is not a new key")
        created = created_at_of(fields, "created_at", created, what)
        tags = fields.get("tags")
        record = self._new_record(
            email=email,
            name=_str_or_none(fields.get("name")),
            surname=_str_or_none(fields.get("surname")),
            partner_id=None if partner_id is None else str(partner_id),
            key=key if isinstance(key, str) else None,
            tags=[str(tag) for tag in tags] if isinstance(tags, list) else [],
            created=created,
        )
        for field in ("status", "approved", "tos", "custom_fields", "referrals_count"):
            if field in fields:
                record[field] = fields[field]
        self._store(record)
        return record

    def _new_record(
        self,
        *,
        email: str,
        name: str | None,
        surname: str | None,
        partner_id: str | None,
        key: str | None,
        tags: list[str],
        created: datetime,
        invited: bool = False,
    ) -> dict[str, Any]:
        partner_id = partner_id or self._fresh(self._by_id, 8)
        key = key or self._fresh(self._by_key, 8)
        self._key_of[partner_id] = key
        stamp = utc_iso(created, digits=6)
        link = f"{PROGRAM_SITE}?aff={key}"
        return {
            "email": email,
            "created_at": stamp,
            "updated_at": stamp,
            "name": name,
            "id": partner_id,
            "surname": surname,
            "tos": False,
            # Invitees appear as pending until they sign up through the portal.
            "approved": not invited,
            "status": "pending" if invited else "active",
            "custom_fields": [],
            "referrals_count": 0,
            "tags": [{"value": tag} for tag in tags],
            "referral_link": link,
            "referral_links": [link],
        }

    def _fresh(self, taken: Mapping[str, object], length: int) -> str:
        while True:
            candidate = random_id(self.rng, LOWER_ALNUM, length)
            if candidate not in taken:
                return candidate

    def _store(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        self._by_id[record["id"]] = record
        self._by_email[record["email"].lower()] = record
        self._by_key[self._key_of[record["id"]]] = record

    # --- writes ---------------------------------------------------------------------------

    def _create(self, request: Request) -> Reply:
        data = request_input(request)
        rules = Rules(data)
        with self.lock:
            email = rules.email("email", required=True)
            rules.unique("email", email, lambda value: value.lower() in self._by_email)
            name = rules.string("name")
            surname = rules.string("surname")
            rules.password("password")
            partner_id = rules.string("id")
            rules.unique("id", partner_id, lambda value: value in self._by_id)
            key = rules.string("key")
            rules.unique("key", key, lambda value: value in self._by_key)
            tags = rules.string_list("tags")
            referrer = data.get("referring_partner")
            if referrer is not None and not isinstance(referrer, dict):
                rules.fail("referring_partner", "The referring partner field must be an array.")
            if rules.errors:
                return validation_error(rules.errors)
            if isinstance(referrer, dict) and referrer and self._referrer(referrer) is None:
                # The seed page documents this one as a 400, not a validation error.
                return message("Referring partner not found", 400)
            assert email is not None  # required above
            record = self._new_record(
                email=email,
                name=name,
                surname=surname,
                partner_id=partner_id,
                key=key,
                tags=tags or [],
                created=datetime.now(UTC),
            )
            self._store(record)
            return json_reply(201, {"data": copy.deepcopy(record), "status": 1}, committed=True)

    def _referrer(self, ref: Mapping[str, Any]) -> dict[str, Any] | None:
        for field, index in (("id", self._by_id), ("key", self._by_key)):
            value = ref.get(field)
            if value is not None:
                return index.get(str(value))
        email = ref.get("email")
        if isinstance(email, str):
            return self._by_email.get(email.lower())
        return None

    def _invite(self, request: Request) -> Reply:
        data = request_input(request)
        rules = Rules(data)
        with self.lock:
            email = rules.email("email", required=True)
            # A partner and an earlier invitee are both rows here, so one check covers both.
            rules.unique("email", email, lambda value: value.lower() in self._by_email)
            name = rules.string("name", required=True)
            surname = rules.string("surname")
            if rules.errors:
                return validation_error(rules.errors)
            assert email is not None
            record = self._new_record(
                email=email,
                name=name,
                surname=surname,
                partner_id=None,
                key=None,
                tags=[],
                created=datetime.now(UTC),
                invited=True,
            )
            self._store(record)
            return json_reply(201, {"data": copy.deepcopy(record), "status": 1}, committed=True)

    # --- reads ----------------------------------------------------------------------------

    def _page(self, request: Request, rows: list[dict[str, Any]], path: str) -> Reply:
        rules = Rules({})
        page = int_param(rules, request, "page", 1, 1, None)
        limit = int_param(rules, request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        if rules.errors:
            return validation_error(rules.errors)
        start = (page - 1) * limit
        chunk = rows[start : start + limit]
        more = len(rows) > start + limit
        base = f"{self.base_url}{path}"
        # Assumption: page links keep the request's other parameters (withQueryString), so a
        # client following links.next keeps its page size.
        others = [(k, v[0]) for k, v in request.query.items() if k != "page" and v]

        def url(number: int) -> str:
            return f"{base}?{urlencode([*others, ('page', str(number))])}"

        return json_reply(
            200,
            {
                "data": copy.deepcopy(chunk),
                "links": {
                    "first": url(1),
                    "last": None,
                    "prev": url(page - 1) if page > 1 else None,
                    "next": url(page + 1) if more else None,
                },
                "meta": {
                    "current_page": page,
                    "from": start + 1 if chunk else None,
                    "path": base,
                    "per_page": limit,
                    "to": start + len(chunk) if chunk else None,
                },
                "status": 1,
            },
        )

    def _list(self, request: Request) -> Reply:
        with self.lock:
            rows = list(self._rows)
        return self._page(request, rows, "/v1/partners")

    def _search(self, request: Request) -> Reply:
        terms: dict[str, str] = {}
        for field in ("key", "id", "email"):
            value = (request.arg(field) or "").strip()
            if value:
                terms[field] = value
        if not terms:
            return validation_error(
                {"key": ["The key field is required when none of id / email are present."]}
            )
        with self.lock:
            rows = [
                row
                for row in self._rows
                if all(
                    value.lower() in self._field(row, field).lower()
                    for field, value in terms.items()
                )
            ]
        return self._page(request, rows, "/v1/partners:search")

    def _field(self, row: Mapping[str, Any], field: str) -> str:
        if field == "key":
            return self._key_of[row["id"]]
        return str(row[field])

    def _lookup(self, request: Request) -> Reply:
        email, key, partner_id = request.arg("email"), request.arg("key"), request.arg("id")
        with self.lock:
            if email:
                row = self._by_email.get(email.strip().lower())
            elif key:
                row = self._by_key.get(key.strip())
            elif partner_id:
                row = self._by_id.get(partner_id.strip())
            else:
                return validation_error(
                    {"email": ["The email field is required when none of key / id are present."]}
                )
            found = copy.deepcopy(row) if row else None
        if found is None:
            return message("Partner not found", 404)
        return json_reply(200, {"data": found, "status": 1})

    def _retrieve(self, request: Request) -> Reply:
        with self.lock:
            row = self._by_id.get(request.params["id"])
            found = copy.deepcopy(row) if row else None
        if found is None:
            return message("Partner not found", 404)
        found |= {"referrals": [], "commissions": []}
        return json_reply(200, {"data": found, "status": 1})


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
