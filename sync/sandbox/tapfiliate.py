"""Tapfiliate's REST API 1.6 (sources.md section 5), read-only, under the base path /1.6.

What the emulation serves: `GET /affiliates/` (every affiliate of the account), `GET /programs/`,
`GET /programs/{program_id}/` and `GET /programs/{program_id}/affiliates/` (the program's
affiliations: `approved`, `coupon`, `referral_link`), all paged by a 1-based `?page=` with 25
items a page and a `Link` header (`next`, `prev`, `first`, `last`), behind `X-Api-Key`.

Assumptions where Tapfiliate publishes nothing (the client in sync/sources/tapfiliate.py makes
the same ones):
- lists come oldest first, so affiliates added during a read join the last page;
- the page size is fixed: a `limit` parameter is ignored;
- an affiliation's `referral_link` is an object `{link, asset_id, source_id}` whose `link`
  carries the affiliate's code as `?ref=<code>`, and `approved` is true, false or null (null:
  waiting for approval);
- a page past the last answers an empty array and no `next` link;
- `X-Ratelimit-Limit` counts requests per minute, `X-Ratelimit-Reset` is in epoch seconds, and
  both come on every answer of a limited sandbox; a 429 says `{"message": "..."}` like the
  other errors.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from sync.sandbox.base import (
    EPOCH_SECONDS,
    JSON,
    LIMIT,
    LOWER_ALNUM,
    REMAINING,
    Options,
    Reply,
    Request,
    Route,
    created_at_of,
    json_reply,
    random_id,
    utc_iso,
)
from sync.sandbox.readonly import BadArgument, ReadOnlyEmulator, int_arg, page_of

PAGE_SIZE = 25
DEFAULT_PROGRAM = "sandbox-program"
PROGRAM_SITE = "https://sandbox.example.com"


class TapfiliateEmulator(ReadOnlyEmulator):
    """One account with its programs; affiliates are seeded and then only read."""

    name = "tapfiliate"
    base_path = "/1.6"
    record_noun = "affiliate"
    # Unpublished: the sandbox enforces a modest budget so that pacing and 429s get exercised.
    default_rate_limit = 300
    messages: ClassVar[Mapping[int, str]] = {
        401: "Invalid API key",
        404: "Not found",
        429: "Too many requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }
    limit_headers: ClassVar[Mapping[str, str]] = {
        "X-Ratelimit-Limit": LIMIT,
        "X-Ratelimit-Remaining": REMAINING,
        "X-Ratelimit-Reset": EPOCH_SECONDS,
    }

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._programs: dict[str, dict[str, Any]] = {}
        self._affiliations: dict[str, list[dict[str, Any]]] = {}  # by program id
        self._program(DEFAULT_PROGRAM)

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/affiliates/", self._list_affiliates),
            Route("GET", "/programs/", self._list_programs),
            Route("GET", "/programs/{program_id}/", self._get_program),
            Route("GET", "/programs/{program_id}/affiliates/", self._list_affiliations),
        )

    # --- protocol -------------------------------------------------------------------------

    def error(self, status: int, text: str) -> Reply:
        return json_reply(status, {"message": text})

    def key_of(self, request: Request) -> str | None:
        key = (request.header("X-Api-Key") or "").strip()
        return key or None

    # --- state ----------------------------------------------------------------------------

    def _program(self, program_id: str) -> dict[str, Any]:
        program = self._programs.get(program_id)
        if program is None:
            program = {"id": program_id, "title": program_id.replace("-", " ").title()}
            program["currency"] = "USD"
            self._programs[program_id] = program
            self._affiliations[program_id] = []
        return program

    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        """A seed record: the affiliate's own fields, plus its place in one program.

        `program_id` names the program (default: the sandbox's; null: in no program),
        `approved` its approval there (default true; null: waiting), `ref` its code (default:
        random, as Tapfiliate makes them), `coupon` its coupon; `country` is a shortcut for
        `address.country.code`.
        """
        affiliate_id = fields.get("id") or random_id(self.rng, LOWER_ALNUM, 8)
        if not isinstance(affiliate_id, str):
            raise ValueError(f"{what}: id {affiliate_id!r} is not a string")
        created = created_at_of(fields, "created_at", created, what)
        address = fields.get("address")
        if not isinstance(address, dict):
            country = fields.get("country")
            address = {"country": {"code": country}} if country else None
        company = fields.get("company")
        if isinstance(company, str):
            company = {"name": company}
        return {
            "id": affiliate_id,
            "firstname": fields.get("firstname"),
            "lastname": fields.get("lastname"),
            "email": str(fields["email"]).strip(),
            "company": copy.deepcopy(company),
            "address": copy.deepcopy(address),
            "meta_data": copy.deepcopy(fields.get("meta_data") or {}),
            "parent_id": fields.get("parent_id"),
            "affiliate_group_id": fields.get("affiliate_group_id"),
            "custom_fields": copy.deepcopy(fields.get("custom_fields") or {}),
            "created_at": utc_iso(created, digits=0),
        }

    def _added(self, record: Mapping[str, Any], fields: Mapping[str, JSON], what: str) -> None:
        """The affiliate's place in its program (none when the seed's `program_id` is null)."""
        program_id = fields.get("program_id", DEFAULT_PROGRAM)
        if program_id is None:
            return
        program = self._program(str(program_id))
        code = fields.get("ref") or random_id(self.rng, LOWER_ALNUM, 7)
        self._affiliations[program["id"]].append(
            {
                "affiliate": {key: record[key] for key in ("id", "email", "firstname", "lastname")},
                "program": {"id": program["id"], "title": program["title"]},
                "approved": fields.get("approved", True),
                "coupon": fields.get("coupon"),
                "referral_link": {
                    "link": f"{PROGRAM_SITE}/?ref={quote(str(code), safe='')}",
                    "asset_id": random_id(self.rng, LOWER_ALNUM, 6),
                    "source_id": random_id(self.rng, LOWER_ALNUM, 6),
                },
                "created_at": record["created_at"],
            }
        )

    # --- reads ----------------------------------------------------------------------------

    def _page(self, request: Request, items: Sequence[Any], path: str) -> Reply:
        try:
            page = int_arg(request, "page", 1)
        except BadArgument as exc:
            return self.error(400, str(exc))
        last = max(1, math.ceil(len(items) / PAGE_SIZE))
        links = {"first": 1, "last": last}
        if page < last:
            links["next"] = page + 1
        if 1 < page <= last + 1:
            links["prev"] = page - 1
        header = ", ".join(
            f'<{self.base_url}{path}?page={number}>; rel="{rel}"' for rel, number in links.items()
        )
        return json_reply(200, page_of(items, page, PAGE_SIZE), headers={"Link": header})

    def _list_affiliates(self, request: Request) -> Reply:
        with self.lock:
            rows = list(self._rows)
            return self._page(request, rows, "/affiliates/")

    def _list_programs(self, request: Request) -> Reply:
        with self.lock:
            return self._page(request, list(self._programs.values()), "/programs/")

    def _get_program(self, request: Request) -> Reply:
        with self.lock:
            program = copy.deepcopy(self._programs.get(request.params["program_id"]))
        if program is None:
            return self.error(404, "Program not found")
        return json_reply(200, program)

    def _list_affiliations(self, request: Request) -> Reply:
        program_id = request.params["program_id"]
        with self.lock:
            if program_id not in self._programs:
                return self.error(404, "Program not found")
            rows = list(self._affiliations[program_id])
            return self._page(request, rows, f"/programs/{quote(program_id)}/affiliates/")
