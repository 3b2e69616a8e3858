"""FirstPromoter's admin API v2 (sources.md section 3), read-only, under /api/v2/company.

Serves `GET /promoters` (page/per_page, default 20, at most 100, oldest first) and
`GET /promoter_campaigns` (a bare array), behind `Authorization: Bearer <key>` and an
`Account-ID` header (both checked: the sandbox's `api_key` is "key:account").

Assumptions where FirstPromoter's docs are silent (sync/sources/firstpromoter.py makes the
same ones):
- the answer is `{data, meta: {pending_count}}` with no total; a page past the last has an
  empty `data`;
- 400 requests a minute per account; a 429 says `{"message": "Too Many Requests", "code":
  "rate_limited"}` with no rate-limit headers.

A seed record is a FirstPromoter promoter (`email`, `name`, `cust_id`, `profile: {first_name,
last_name, country, ...}`, `promoter_campaigns: [{state, ref_token, campaign: {name}}]`,
`joined_at`, `archived_at`, ...); ids and the rest are filled in.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sync.sandbox.base import (
    JSON,
    Options,
    Reply,
    Request,
    Route,
    bearer_token,
    created_at_of,
    json_reply,
    utc_iso,
)
from sync.sandbox.readonly import BadArgument, ReadOnlyEmulator, int_arg, page_of

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
PROGRAM_SITE = "https://sandbox.example.com"
# The `code` of an error, by status: every 5xx is a `server_error`.
_CODES = {401: "unauthorized", 404: "not_found", 422: "invalid_params", 429: "rate_limited"}


class FirstPromoterEmulator(ReadOnlyEmulator):
    """One account; promoters and their campaigns are seeded, then only read."""

    name = "firstpromoter"
    base_path = "/api/v2/company"
    record_noun = "promoter"
    default_rate_limit = 400
    messages: ClassVar[Mapping[int, str]] = {
        401: "Invalid API key or Account-ID",
        404: "Not found",
        429: "Too Many Requests",
        500: "Something went wrong",
    }
    # No rate-limit headers are documented.

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._next_id = 1000
        self._campaigns: dict[str, dict[str, Any]] = {}

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/promoters", self._list),
            Route("GET", "/promoter_campaigns", self._promoter_campaigns),
        )

    def key_of(self, request: Request) -> str | None:
        token, account = bearer_token(request), (request.header("Account-ID") or "").strip()
        return f"{token}:{account}" if token and account else None

    def error(self, status: int, text: str) -> Reply:
        return json_reply(status, {"message": text, "code": _CODES.get(status, "server_error")})

    def authenticate(self, request: Request) -> Reply | None:
        if not (request.header("Account-ID") or "").strip():
            return self.error(401, "Account-ID header is missing")
        return super().authenticate(request)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _campaign(self, given: object) -> dict[str, Any]:
        name = given.get("name") if isinstance(given, Mapping) else None
        name = name if isinstance(name, str) and name else "Default campaign"
        if name not in self._campaigns:
            self._campaigns[name] = {"id": self._id(), "name": name, "color": "#4f46e5"}
        return copy.deepcopy(self._campaigns[name])

    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        joined = utc_iso(created_at_of(fields, "joined_at", created, what), digits=3)
        promoter_id = fields.get("id") or self._id()
        campaigns = []
        for entry in fields.get("promoter_campaigns") or []:
            if not isinstance(entry, Mapping):
                raise ValueError(f"{what}: each promoter_campaign must be an object")
            campaign = self._campaign(entry.get("campaign"))
            token = entry.get("ref_token")
            campaigns.append(
                {
                    "id": entry.get("id") or self._id(),
                    "campaign_id": campaign["id"],
                    "promoter_id": promoter_id,
                    "state": entry.get("state", "accepted"),
                    "campaign": campaign,
                    "coupon": entry.get("coupon"),
                    "ref_token": token,
                    "ref_link": f"{PROGRAM_SITE}/?fpr={token}" if token else None,
                }
            )
        profile = copy.deepcopy(fields.get("profile") or {})
        name = fields.get("name") or " ".join(
            str(part) for part in (profile.get("first_name"), profile.get("last_name")) if part
        )
        return {
            "id": promoter_id,
            "email": str(fields["email"]).strip(),
            "name": name,
            "cust_id": fields.get("cust_id"),
            "note": fields.get("note"),
            "stats": {"clicks_count": 0, "referrals_count": 0, "customers_count": 0},
            "is_confirmed": fields.get("is_confirmed", True),
            "fraud_suspicions": [],
            "profile": profile,
            "joined_at": joined,
            "created_at": joined,
            "archived_at": fields.get("archived_at"),
            "custom_fields": copy.deepcopy(fields.get("custom_fields") or {}),
            "selected_payout_method": None,
            "promoter_campaigns": campaigns,
        }

    def _list(self, request: Request) -> Reply:
        try:
            per_page = int_arg(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
            page = int_arg(request, "page", 1)
        except BadArgument as exc:
            return self.error(422, str(exc))
        with self.lock:
            rows = sorted(self._rows, key=lambda row: (row["joined_at"], str(row["id"])))
            shown = page_of(rows, page, per_page)
        pending = sum(
            1 for row in rows for entry in row["promoter_campaigns"] if entry["state"] == "pending"
        )
        return json_reply(200, {"data": shown, "meta": {"pending_count": pending}})

    def _promoter_campaigns(self, request: Request) -> Reply:
        with self.lock:
            entries = [entry for row in self._rows for entry in row["promoter_campaigns"]]
            return json_reply(200, copy.deepcopy(entries))
