"""PartnerStack's Vendor API v2 (sources.md section 4), read-only, under the base path /api/v2.

What the emulation serves: `GET /partnerships` (cursor paging with `starting_after` or
`ending_before` and `limit`, the `approved_status` filter Dub's importer uses) and
`GET /links/partnership/{identifier}`, each in the `{data:{has_more, items}, message, status}`
envelope, behind Basic auth with the public key as the user and the secret key as the password.

Assumptions where PartnerStack publishes nothing (the client in sync/sources/partnerstack.py
makes the same ones):
- partnerships list oldest first, so partners added during a read join the end of the listing;
- a partnership states its approval in `approved_status` ("approved", "pending", "declined");
- the links identifier is the partner's email (what Dub's importer sends); a partnership key is
  not accepted there;
- `limit` is 1 to 250 (the Partner API's range) with 10 by default; an out-of-range `limit`, an
  unknown `starting_after` key, or both cursors at once answer 400;
- a 429 carries no rate-limit headers (none are documented); errors are `{message, status}`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sync.sandbox.base import (
    JSON,
    LOWER_ALNUM,
    Options,
    Reply,
    Request,
    Route,
    created_at_of,
    json_reply,
    random_id,
)
from sync.sandbox.readonly import BadArgument, ReadOnlyEmulator, basic_credentials, int_arg

DEFAULT_LIMIT = 10
MAX_LIMIT = 250
LINK_HOST = "https://sandbox.partnerlinks.example"
DESTINATION = "https://sandbox.example.com"
APPROVAL_STATES = ("approved", "pending", "declined")


def envelope(status: int, message: str, items: list[Any], has_more: bool = False) -> Reply:
    """PartnerStack's list answer: the items under `data`, beside `message` and `status`."""
    return json_reply(
        status,
        {"data": {"has_more": has_more, "items": items}, "message": message, "status": status},
    )


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class PartnerStackEmulator(ReadOnlyEmulator):
    """One vendor account whose partnerships are seeded and then only read.

    `Options.api_key`, when given, is the only `public:secret` pair accepted.
    """

    name = "partnerstack"
    base_path = "/api/v2"
    record_noun = "partnership"
    id_field = "key"
    # Unpublished: the sandbox enforces a modest budget so that pacing and 429s get exercised.
    default_rate_limit = 300
    messages: ClassVar[Mapping[int, str]] = {
        401: "Invalid API credentials",
        404: "Not found",
        429: "Too many requests",
        500: "Internal server error",
        502: "Bad gateway",
        503: "Service unavailable",
    }
    # No rate-limit headers are documented, not even on a 429.

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._links: dict[str, list[dict[str, str]]] = {}  # by partnership key

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/partnerships", self._list),
            Route("GET", "/links/partnership/{identifier}", self._partner_links),
        )

    # --- protocol -------------------------------------------------------------------------

    def error(self, status: int, text: str) -> Reply:
        return json_reply(status, {"message": text, "status": status})

    def key_of(self, request: Request) -> str | None:
        """The `public:secret` pair of `Authorization: Basic`, both halves given."""
        public, secret = basic_credentials(request) or ("", "")
        return f"{public}:{secret}" if public and secret else None

    # --- state ----------------------------------------------------------------------------

    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        """A seed record: the partnership's own fields, plus `country` and `links` shortcuts.

        `links` is a list of referral codes or `{url, dest}` objects; `code` is one code; with
        neither, the partner gets one link with a random code.
        """
        key = fields.get("key") or f"part_{random_id(self.rng, LOWER_ALNUM, 16)}"
        if not isinstance(key, str):
            raise ValueError(f"{what}: key {key!r} is not a string")
        status = fields.get("approved_status", "approved")
        if status not in APPROVAL_STATES:
            raise ValueError(f"{what}: approved_status must be one of {APPROVAL_STATES}")
        created = created_at_of(fields, "created_at", created, what)
        address = fields.get("address")
        if not isinstance(address, dict):
            address = {"country": fields.get("country")}
        group = fields.get("group")
        return {
            "key": key,
            "created_at": _epoch_ms(created),
            "updated_at": _epoch_ms(created),
            "email": str(fields["email"]).strip(),
            "first_name": fields.get("first_name") or "",
            "last_name": fields.get("last_name") or "",
            "partner_key": fields.get("partner_key")
            or f"pk_{random_id(self.rng, LOWER_ALNUM, 12)}",
            "approved_status": status,
            "address": copy.deepcopy(address),
            "stats": {"CUSTOMER_COUNT": int(fields.get("customer_count") or 0)},
            "group": copy.deepcopy(group) if isinstance(group, dict) else {"slug": "default"},
            "tags": list(fields.get("tags") or []),
        }

    def _added(self, record: Mapping[str, Any], fields: Mapping[str, JSON], what: str) -> None:
        """The partnership's links, served by /links/partnership/{email}."""
        given = fields.get("links")
        if given is None:
            given = [fields.get("code") or random_id(self.rng, LOWER_ALNUM, 8)]
        links = []
        for entry in given:
            if isinstance(entry, str):
                entry = {"url": f"{LINK_HOST}/{entry}"}
            links.append(
                {
                    "key": f"link_{random_id(self.rng, LOWER_ALNUM, 12)}",
                    "dest": str(entry.get("dest") or DESTINATION),
                    "url": str(entry["url"]),
                }
            )
        self._links[record["key"]] = links

    # --- reads ----------------------------------------------------------------------------

    def _list(self, request: Request) -> Reply:
        try:
            limit = int_arg(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        except BadArgument as exc:
            return self.error(400, str(exc))
        after, before = request.arg("starting_after"), request.arg("ending_before")
        if after and before:
            return self.error(400, "starting_after and ending_before are mutually exclusive")
        status = request.arg("approved_status")
        with self.lock:
            rows = [r for r in self._rows if status is None or r["approved_status"] == status]
            cursor = after or before
            if cursor and cursor not in self._by_id:
                return self.error(400, f"No partnership with key {cursor}")
            keys = [row["key"] for row in rows]
            if after:
                start = keys.index(after) + 1 if after in keys else len(rows)
                window, has_more = rows[start : start + limit], start + limit < len(rows)
            elif before:
                end = keys.index(before) if before in keys else 0
                window, has_more = rows[max(0, end - limit) : end], end - limit > 0
            else:
                window, has_more = rows[:limit], limit < len(rows)
            items = copy.deepcopy(window)
        return envelope(200, "Partnerships retrieved", items, has_more)

    def _partner_links(self, request: Request) -> Reply:
        identifier = request.params["identifier"].strip().lower()
        with self.lock:
            record = self._by_email.get(identifier)
            links = copy.deepcopy(self._links[record["key"]]) if record else None
        if links is None:
            return self.error(404, "Partnership not found")
        return envelope(200, "Links retrieved", links)
