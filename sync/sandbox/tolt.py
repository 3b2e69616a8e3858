"""Tolt's API v1 (sources.md section 2), read-only, under the base path /v1.

Serves `GET /partners` and `GET /links`, both for one `program_id` (required), paged by a
`starting_after=<last id>` cursor with `limit` (default 10, at most 100) and `has_more`,
newest first unless `order=asc`, behind `Authorization: Bearer <key>`.

Assumptions where Tolt's docs are silent (sync/sources/tolt.py makes the same ones):
- an unknown `starting_after` is a 400 `invalid_request_error`; an unknown program lists
  nothing;
- 25 requests a second per key; a 429 is v1's `{"success": false, "error": {"message": "Too
  many requests. Please try again.", "type": "rate_limit_error"}}` with no headers.

A seed record is a Tolt partner (`email`, `first_name`, `last_name`, `status`,
`country_code`, `payout_method`, `payout_details`, `created_at`, ...) that may carry its links
as `links: [{param, value, created_at}]` (Tolt keeps them apart; they are served by /links).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sync.sandbox.base import (
    ALNUM,
    JSON,
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
from sync.sandbox.readonly import BadArgument, ReadOnlyEmulator, after_cursor, int_arg

PROGRAM_ID = "prg_sandbox"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# The `type` of an error, by status: every 5xx is an `api_error`.
_KINDS = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


class ToltEmulator(ReadOnlyEmulator):
    """One organisation with one program; partners and links are seeded, then only read."""

    name = "tolt"
    base_path = "/v1"
    default_rate_limit = 25
    default_window = 1.0
    messages: ClassVar[Mapping[int, str]] = {
        401: "Invalid API key provided",
        404: "Not found",
        429: "Too many requests. Please try again.",
        500: "Something went wrong on our end",
    }
    # v1 documents no rate-limit headers.

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._links: list[dict[str, Any]] = []

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/partners", lambda request: self._list(request, self._rows)),
            Route("GET", "/links", lambda request: self._list(request, self._links)),
        )

    def error(self, status: int, text: str) -> Reply:
        kind = _KINDS.get(status, "api_error")
        return json_reply(status, {"success": False, "error": {"message": text, "type": kind}})

    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        when = created_at_of(fields, "created_at", created, what)
        partner_id = fields.get("id") or "part_" + random_id(self.rng, ALNUM, 16)
        record: dict[str, Any] = {
            "id": partner_id,
            "first_name": fields.get("first_name"),
            "last_name": fields.get("last_name"),
            "email": str(fields["email"]).strip(),
            "company_name": fields.get("company_name"),
            "program_id": fields.get("program_id", PROGRAM_ID),
            "organization_id": "org_sandbox",
            "group_id": fields.get("group_id"),
            "payout_method": fields.get("payout_method", "none"),
            "payout_details": copy.deepcopy(fields.get("payout_details")),
            "country_code": fields.get("country_code"),
            "status": fields.get("status", "active"),
            "created_at": utc_iso(when, digits=3),
            "updated_at": utc_iso(when, digits=3),
        }
        return record

    def _added(self, record: Mapping[str, Any], fields: Mapping[str, JSON], what: str) -> None:
        """The partner's seeded links, served by /links (Tolt keeps them apart)."""
        when = parse_iso(record["created_at"])
        links = []
        for index, link in enumerate(fields.get("links") or []):
            if not isinstance(link, Mapping) or not isinstance(link.get("value"), str):
                raise ValueError(f"{what}: each link needs a value (a string)")
            stamp = created_at_of(link, "created_at", when + timedelta(seconds=index), what)
            links.append(
                {
                    "id": link.get("id") or "lnk_" + random_id(self.rng, ALNUM, 16),
                    "param": link.get("param", "ref"),
                    "value": link["value"],
                    "partner_id": record["id"],
                    "program_id": record["program_id"],
                    "created_at": utc_iso(stamp, digits=3),
                }
            )
        self._links.extend(links)

    def _list(self, request: Request, source: list[dict[str, Any]]) -> Reply:
        program = request.arg("program_id")
        if not program:
            return self.error(400, "program_id is required")
        try:
            limit = int_arg(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
            with self.lock:
                rows = [row for row in source if row["program_id"] == program]
                rows.sort(key=lambda row: str(row["created_at"]), reverse=True)
                if request.arg("order") == "asc":
                    rows.reverse()
                partner = request.arg("partner_id")
                if partner is not None:
                    rows = [row for row in rows if row.get("partner_id") == partner]
                total = len(rows)
                rest = after_cursor(rows, request.arg("starting_after"))
        except BadArgument as exc:
            return self.error(400, str(exc))
        page = copy.deepcopy(rest[:limit])
        return json_reply(
            200,
            {"success": True, "has_more": len(rest) > limit, "total_count": total, "data": page},
        )
