"""PromoteKit (promotekit.com): the affiliates API v1, its create body, and its envelopes.

Facts and assumptions (providers.md §3, seeds/004):
- Answers are `{success: true, data}` or `{success: false, error: {message, type}}`.
- No tenant id: affiliates match by email alone, so a row can never be a tenant conflict.
- The list filters by exact `email` (0 or 1 results), pages with limit (at most 100) and page,
  and states `total_count`, so a list call with limit=1 is the count.
- The list order is unspecified; the shared scan notices a total that moves while it reads
  (pages shifted under it) and reads the listing again in order.
- A taken email, ref_code or promo_code is refused (409 in the sandbox; the status and text are
  undocumented, so the message is read for the field it names). A refusal of a taken email
  means the affiliate exists; one of a taken code is a `conflict` for that row, once a lookup
  by email has shown the affiliate is not ours already.
- 200 requests per minute per key; no rate-limit headers are documented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sync.codes import holds_code, taken_message
from sync.errors import RejectedError
from sync.models import Candidate, RemotePartner, Status
from sync.neutral import ACTIVE, neutral_row
from sync.providers.base import (
    BaseProvider,
    Page,
    Resolution,
    no_partner_in,
    unexpected_answer,
)
from sync.providers.fields import Email, FullMatch, TrimmedStr
from sync.providers.http import ProviderHTTP

# A campaign's id as PromoteKit writes it: a UUID in its usual 8-4-4-4-12 hex form.
_CAMPAIGN_UUID = FullMatch(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "must be a campaign UUID (e.g. 78614b6c-fe7c-41e2-8e25-c9b3a3c91904)",
)


Text = Annotated[TrimmedStr, Field(min_length=1)]
CampaignId = Annotated[TrimmedStr, AfterValidator(_CAMPAIGN_UUID)]


class PromoteKitAffiliate(BaseModel):
    """The body of POST /affiliates (providers.md §3.2); no length limits are published."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    first_name: Text
    last_name: Text
    payout_email: Email | None = None
    ref_code: Text | None = None  # the end of the affiliate link; unique
    promo_code: Text | None = None  # a Stripe promotion code; unique
    campaign_id: CampaignId | None = None  # the default campaign when absent
    approved: bool = True
    details: str | None = None
    new_paid_referral_notifications: bool = True


def affiliate_from(record: Mapping[str, Any]) -> RemotePartner:
    return RemotePartner(
        id=str(record.get("id") or ""),
        email=record.get("email"),
        created_at=record.get("created_at"),
        codes=tuple(ref_codes(record)),
    )


def ref_codes(record: Mapping[str, Any]) -> list[str]:
    """The codes of the affiliate's links (`links[].code`), first link first."""
    links = record.get("links")
    return [
        link["code"]
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, Mapping) and isinstance(link.get("code"), str) and link["code"]
    ]


def _data(body: Any, where: str) -> Any:
    if not isinstance(body, dict) or body.get("success") is False or "data" not in body:
        raise unexpected_answer("promotekit", where)
    return body["data"]


def parse_page(body: Any) -> Page:
    """One page of GET /affiliates: `{success, data: [...], pagination: {has_more, total_count}}`.

    Raises:
        RetryableProviderError: the answer is not a page.
    """
    data = _data(body, "GET /affiliates")
    pagination = body.get("pagination")
    if not isinstance(data, list) or not isinstance(pagination, dict):
        raise unexpected_answer("promotekit", "GET /affiliates")
    total = pagination.get("total_count")
    records = [record for record in data if isinstance(record, dict)]
    return Page(
        partners=[affiliate_from(record) for record in records],
        has_next=bool(pagination.get("has_more")),
        total=total if isinstance(total, int) else None,
        records=records,
    )


def _error(body: Any) -> tuple[str, str]:
    """The (message, type) of an error envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", "")), str(error.get("type", ""))
    return str(body)[:200], ""


# The affiliate fields a refusal may name; \b keeps "email" from matching inside "payout_email".
_FIELD = re.compile(
    r"\b(email|first_name|last_name|payout_email|ref_code|promo_code|campaign_id|approved|details"
    r"|new_paid_referral_notifications)\b"
)
_TAKEN = re.compile(r"already (been )?taken|already exists|in use", re.IGNORECASE)


def named_field(message: str) -> str | None:
    """The first affiliate field a message names, if any."""
    found = _FIELD.search(message)
    return found.group(1) if found else None


class PromoteKit(BaseProvider):
    """PromoteKit's affiliates API: count, scan or lookups by email, create; no invitations."""

    name: ClassVar[str] = "promotekit"
    env_key: ClassVar[str] = "PROMOTEKIT_API_KEY"
    default_base_url: ClassVar[str] = "https://www.promotekit.com/api/v1"
    base_path: ClassVar[str] = ""
    default_rate_limit: ClassVar[int] = 200  # per minute per key, as published
    schema: ClassVar[type[BaseModel]] = PromoteKitAffiliate
    tenant_field: ClassVar[str | None] = None
    page_size: ClassVar[int] = 100
    lookup_calls_per_tenant: ClassVar[int] = 0
    lookup_calls_per_row: int = 1
    code_field: ClassVar[str | None] = "ref_code"
    codes_ignore_case: ClassVar[bool] = True  # a code taken in another case is taken
    unportable: ClassVar[dict[str, str]] = {
        "clicks": "click counts and referrals stay at PromoteKit",
        "commissions": "commissions and payouts are PromoteKit's records",
        "campaign": "campaigns (commission structures) exist only at PromoteKit",
        "links": "affiliate links change with the platform (the ref code is carried as the code)",
    }

    def to_neutral(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        links = ref_codes(record)
        codes = [code for code in record.get("promo_codes") or [] if isinstance(code, Mapping)]
        status = (
            "banned"
            if record.get("banned")
            else (ACTIVE if record.get("approved", True) else "pending")
        )
        return neutral_row(
            source_id=record.get("id"),
            email=record.get("email"),
            first_name=record.get("first_name"),
            last_name=record.get("last_name"),
            referral_code=links[0] if links else None,
            description=record.get("details"),
            payout_email=record.get("payout_email"),
            promo_code=codes[0].get("code") if codes else None,
            status=status,
            created_at=record.get("created_at"),
        )

    def error_message(self, status: int, body: Any) -> str:
        message, kind = _error(body)
        return f"{kind}: {message}" if kind else message

    async def count(self, http: ProviderHTTP) -> int | None:
        body = await http.request("GET", "/affiliates", params={"limit": 1}, kind="count")
        return parse_page(body).total

    async def list_page(self, http: ProviderHTTP, page: int) -> Page:
        body = await http.request(
            "GET", "/affiliates", params={"limit": self.page_size, "page": page}, kind="list"
        )
        return parse_page(body)

    async def lookup(self, http: ProviderHTTP, candidate: Candidate) -> list[RemotePartner]:
        return [affiliate_from(record) for record in await self.lookup_records(http, candidate)]

    async def lookup_records(
        self, http: ProviderHTTP, candidate: Candidate
    ) -> list[Mapping[str, Any]]:
        body = await http.request(
            "GET", "/affiliates", params={"email": candidate.email}, kind="lookup"
        )
        # Kept only if it really is this email: an API that ignored the filter would otherwise
        # pass its first page off as matches.
        page = parse_page(body)
        return [
            record
            for partner, record in zip(page.partners, page.records, strict=True)
            if partner.key == candidate.key
        ]

    def partner_of(self, record: Mapping[str, Any]) -> RemotePartner:
        return affiliate_from(record)

    def readback(self, record: Mapping[str, Any]) -> dict[str, Any]:
        codes = record.get("promo_codes")
        campaign = record.get("campaign")
        return {
            "email": record.get("email"),
            "first_name": record.get("first_name"),
            "last_name": record.get("last_name"),
            "payout_email": record.get("payout_email"),
            "ref_code": ref_codes(record),
            "promo_code": [
                c["code"] for c in codes or [] if isinstance(c, Mapping) and c.get("code")
            ],
            "campaign_id": campaign.get("id") if isinstance(campaign, Mapping) else None,
            "details": record.get("details"),
        }

    async def code_holders(self, http: ProviderHTTP, code: str) -> list[RemotePartner] | None:
        body = await http.request("GET", "/affiliates", params={"ref_code": code}, kind="code")
        return [p for p in parse_page(body).partners if holds_code(self, p, code)]

    async def create(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        body = await http.request("POST", "/affiliates", json=dict(payload), kind="create")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise no_partner_in(self.name, "POST /affiliates")
        return affiliate_from(data)

    def resolve_rejection(self, error: RejectedError, candidate: Candidate) -> Resolution:
        message, kind = _error(error.body)
        text = f"refused by promotekit: {message}"
        field = named_field(message)
        if error.status == 409 or kind == "conflict" or _TAKEN.search(message):
            if field == "email":
                # Matching is by email alone: whoever holds it, the affiliate exists.
                return Resolution(None, text, field="email", if_not_found=Status.EXISTS)
            # A taken code: unless the lookup shows the affiliate is already there (ours), the
            # row clashes with another affiliate's code.
            code = candidate.payload.get(field or "")
            if field == self.code_field and isinstance(code, str):
                text = f"{taken_message(self, code, None)} ({text})"
            return Resolution(None, text, field=field, if_not_found=Status.CONFLICT)
        if error.status in (400, 404, 422):
            # 404 on a create is the campaign: "Campaign <id> not found".
            if error.status == 404 and field is None:
                field = "campaign_id"
            return Resolution(Status.INVALID, text, field=field)
        return Resolution(Status.FAILED, text)
