"""Rewardful's REST API v1 (sources.md section 1), read-only, under the base path /v1.

Serves `GET /affiliates` (page/limit, newest first, `expand[]=links|campaign`) and
`GET /campaigns`, behind HTTP Basic with the API secret as the user and an empty password.

Assumptions where Rewardful's docs are silent (sync/sources/rewardful.py makes the same ones):
- the envelope is `{pagination: {previous_page, current_page, next_page, count, limit,
  total_pages, total_count}, data}`, `next_page` null on the last page; a page past the last
  is empty;
- `links` and `campaign` appear only when expanded;
- 45 requests per 30 seconds per secret; a 429 says `{"error": "Too many requests..."}` with
  `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and `Retry-After`.

A seed record is a Rewardful affiliate (`email`, `first_name`, `last_name`, `state`,
`paypal_email`, `links: [{token}]`, `created_at`, ...); ids, urls and counters are filled in.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sync.sandbox.base import (
    JSON,
    LIMIT,
    REMAINING,
    SECONDS,
    Options,
    Reply,
    Request,
    Route,
    created_at_of,
    json_reply,
    utc_iso,
)
from sync.sandbox.readonly import (
    BadArgument,
    ReadOnlyEmulator,
    basic_credentials,
    int_arg,
    page_of,
)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
PROGRAM_SITE = "https://sandbox.example.com"


class RewardfulEmulator(ReadOnlyEmulator):
    """One account with one campaign; affiliates are seeded, then only read."""

    name = "rewardful"
    base_path = "/v1"
    record_noun = "affiliate"
    default_rate_limit = 45
    default_window = 30.0
    messages: ClassVar[Mapping[int, str]] = {
        401: "Invalid API Secret.",
        404: "Not Found",
        429: "Too many requests. Please try again later.",
        500: "Internal Server Error",
        502: "Service Unavailable",
        503: "Service Unavailable",
    }
    limit_headers: ClassVar[Mapping[str, str]] = {
        "RateLimit-Limit": LIMIT,
        "RateLimit-Remaining": REMAINING,
        "RateLimit-Reset": SECONDS,
    }
    refusal_headers: ClassVar[Mapping[str, str]] = {"Retry-After": SECONDS}

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.campaign = {"id": self._uuid(), "name": "Sandbox campaign", "url": PROGRAM_SITE}

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/affiliates", self._list),
            Route("GET", "/campaigns", self._campaigns),
        )

    def error(self, status: int, text: str) -> Reply:
        return json_reply(status, {"error": text})

    def key_of(self, request: Request) -> str | None:
        """The API secret: the user of `Authorization: Basic base64(secret:)`."""
        secret, password = basic_credentials(request) or ("", "")
        return secret if secret and not password else None

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        stamp = utc_iso(created_at_of(fields, "created_at", created, what), digits=3)
        links = []
        for link in fields.get("links") or []:
            if not isinstance(link, Mapping) or not isinstance(link.get("token"), str):
                raise ValueError(f"{what}: each link needs a token (a string)")
            token = link["token"]
            links.append(
                {
                    "id": link.get("id") or self._uuid(),
                    "url": link.get("url") or f"{PROGRAM_SITE}/?via={token}",
                    "token": token,
                    "visitors": link.get("visitors", 0),
                    "leads": link.get("leads", 0),
                    "conversions": link.get("conversions", 0),
                }
            )
        record: dict[str, Any] = {
            "id": fields.get("id") or self._uuid(),
            "created_at": stamp,
            "updated_at": stamp,
            "state": fields.get("state", "active"),
            "first_name": fields.get("first_name"),
            "last_name": fields.get("last_name"),
            "email": str(fields["email"]).strip(),
            "paypal_email": fields.get("paypal_email"),
            "wise_email": fields.get("wise_email"),
            "stripe_customer_id": fields.get("stripe_customer_id"),
            "stripe_account_id": fields.get("stripe_account_id"),
            "visitors": fields.get("visitors", 0),
            "leads": fields.get("leads", 0),
            "conversions": fields.get("conversions", 0),
            "campaign": copy.deepcopy(self.campaign),
            "links": links,
        }
        return record

    def _list(self, request: Request) -> Reply:
        try:
            limit = int_arg(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
            page = int_arg(request, "page", 1)
        except BadArgument as exc:
            return json_reply(422, {"error": "Invalid parameters", "details": [str(exc)]})
        expand = set(request.query.get("expand[]", [])) | set(request.query.get("expand", []))
        email = request.arg("email")
        with self.lock:
            rows = self.newest_first()
        if email is not None:
            rows = [row for row in rows if row["email"].lower() == email.strip().lower()]
        total = len(rows)
        pages = math.ceil(total / limit)
        shown = page_of(rows, page, limit)
        for item in shown:
            for name in ("links", "campaign"):
                if name not in expand:
                    item.pop(name)
        pagination = {
            "previous_page": page - 1 if page > 1 else None,
            "current_page": page,
            "next_page": page + 1 if page < pages else None,
            "count": len(shown),
            "limit": limit,
            "total_pages": pages,
            "total_count": total,
        }
        return json_reply(200, {"pagination": pagination, "data": shown})

    def _campaigns(self, request: Request) -> Reply:
        pagination = {"current_page": 1, "next_page": None, "total_count": 1}
        return json_reply(200, {"pagination": pagination, "data": [copy.deepcopy(self.campaign)]})
