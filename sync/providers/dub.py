"""Dub (dub.co): the partners API, its create-body schema, and the traps of its upserting POST."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sync.errors import RejectedError
from sync.models import Candidate, RemotePartner, Status
from sync.neutral import ACTIVE, neutral_row, tags_text
from sync.providers.base import BaseProvider, Page, Resolution, no_partner_in
from sync.providers.countries import ISO_3166_ALPHA2
from sync.providers.fields import (
    Email,
    FullMatch,
    NoPrefix,
    NoSuffix,
    NotEmpty,
    OneOf,
    TrimmedStr,
    max_utf16,
    single_line,
)
from sync.providers.http import ProviderHTTP

# Dub's slug alphabet: ASCII letters, digits, "_", "/", "-", ".", and anything beyond ASCII
# (which covers emoji). See providers.md §1.2, `username`.
_USERNAME_ALPHABET = FullMatch(
    r"[0-9A-Za-z_/\-.\u0080-\uFFFF\U00010000-\U0010FFFF]+",
    "may only contain letters, digits and _ / - .",
)
_USERNAME_START = NoPrefix(("_", ".well-known"), "may not start with '_' or '.well-known'")
_USERNAME_END = NoSuffix((".php", ".php7"), "may not end with .php")
_COUNTRY = OneOf(ISO_3166_ALPHA2, "{value} is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)")
# An empty tenantId is stored as "" and a second one ends in a 500: never send it.
_NOT_BLANK = NotEmpty()


Name = Annotated[TrimmedStr, AfterValidator(single_line), AfterValidator(max_utf16(100))]
Username = Annotated[
    str,
    AfterValidator(max_utf16(100)),
    AfterValidator(_USERNAME_ALPHABET),
    AfterValidator(_USERNAME_START),
    AfterValidator(_USERNAME_END),
]
Country = Annotated[str, AfterValidator(_COUNTRY)]
# No limit in Dub's schema; the database column is most likely VARCHAR(191) (an inference).
TenantId = Annotated[
    str, AfterValidator(_NOT_BLANK), AfterValidator(single_line), AfterValidator(max_utf16(191))
]
TagList = str | list[str]


class DubTestVariant(BaseModel):
    """One A/B destination of a partner's default link."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1)]
    percentage: Annotated[float, Field(ge=10, le=90)]


class DubLinkProps(BaseModel):
    """Overrides for the partner's default link (Dub's link body, less what the program sets)."""

    model_config = ConfigDict(extra="forbid")

    externalId: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    tenantId: Annotated[str, Field(max_length=255)] | None = None
    prefix: str | None = None
    tagIds: TagList | None = None
    tagNames: TagList | None = None
    testVariants: Annotated[list[DubTestVariant], Field(min_length=2, max_length=4)] | None = None
    testStartedAt: str | None = None
    testCompletedAt: str | None = None
    comments: str | None = None
    title: str | None = None
    description: str | None = None
    image: str | None = None
    video: str | None = None
    archived: bool | None = None
    proxy: bool | None = None
    rewrite: bool | None = None
    doIndex: bool | None = None
    expiresAt: str | None = None
    expiredUrl: str | None = None
    ios: str | None = None
    android: str | None = None


class DubPartner(BaseModel):
    """The body of POST /partners with Dub's documented limits (providers.md §1.2)."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[Email, AfterValidator(max_utf16(190))]
    name: Name | None = None
    username: Username | None = None
    image: str | None = None
    tenantId: TenantId | None = None
    groupId: str | None = None
    country: Country | None = None
    description: Annotated[str, AfterValidator(max_utf16(5000))] | None = None
    linkProps: DubLinkProps | None = None


def _partner(record: Mapping[str, Any]) -> RemotePartner:
    return RemotePartner(
        id=str(record.get("id") or record.get("partnerId") or ""),
        email=record.get("email"),
        tenant_id=record.get("tenantId") or None,
        created_at=record.get("createdAt"),
        codes=tuple(_link_keys(record)),
    )


class Dub(BaseProvider):
    """Dub's partners API: list with a stable order, look up by email/tenantId, upserting create."""

    name: ClassVar[str] = "dub"
    env_key: ClassVar[str] = "DUB_API_KEY"
    default_base_url: ClassVar[str] = "https://api.dub.co"
    base_path: ClassVar[str] = ""
    # Business plan; --dub-plan or --rate-limit choose another (providers.md §1.6).
    default_rate_limit: ClassVar[int] = 1200
    plans: ClassVar[dict[str, int]] = {
        "free": 60,
        "pro": 600,
        "business": 1200,
        "advanced": 3000,
        "enterprise": 3000,
    }
    schema: ClassVar[type[BaseModel]] = DubPartner
    tenant_field: ClassVar[str | None] = "tenantId"
    page_size: ClassVar[int] = 100
    lookup_calls_per_row: int = 1
    # By email, then by tenantId unless the email's partner has it (see lookup_records).
    lookup_calls_per_tenant: ClassVar[int] = 1
    # The sent username seeds the default link key, the referral code; a taken key gets a
    # silent "-xxxx" suffix, which the worker reads off the answer's links (sync.codes).
    code_field: ClassVar[str | None] = "username"
    suffixes_taken_codes: ClassVar[bool] = True

    def error_message(self, status: int, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return f"{error.get('code', 'error')}: {error.get('message', '')}".strip()
        return str(body)[:200]

    def is_account_error(self, status: int, body: Any) -> bool:
        # A 403 that names a group answers one row's groupId (another program's group), not
        # the account; the key (401), the plan, the role and the partner limit stop the run.
        return status == 401 or (status == 403 and _group_refusal(body) is None)

    async def count(self, http: ProviderHTTP) -> int | None:
        # GET /partners/count is an API-key route missing from the OpenAPI document.
        try:
            body = await http.request("GET", "/partners/count", kind="count")
        except RejectedError:
            return None
        return body if isinstance(body, int) else None

    async def list_page(self, http: ProviderHTTP, page: int) -> Page:
        # createdAt ascending: the default order (sales amount) moves rows between pages.
        body = await http.request(
            "GET",
            "/partners",
            params={
                "sortBy": "createdAt",
                "sortOrder": "asc",
                "page": page,
                "pageSize": self.page_size,
            },
            kind="list",
        )
        records = body if isinstance(body, list) else []
        return Page(
            partners=[_partner(record) for record in records],
            has_next=len(records) >= self.page_size,
            records=records,
        )

    async def lookup(self, http: ProviderHTTP, candidate: Candidate) -> list[RemotePartner]:
        return [_partner(record) for record in await self.lookup_records(http, candidate)]

    async def lookup_records(
        self, http: ProviderHTTP, candidate: Candidate
    ) -> list[Mapping[str, Any]]:
        found = await self._find(http, {"email": candidate.email})
        # No "email OR tenantId" filter exists. Unless the email's partner has the row's tenantId,
        # the tenantId may belong to another partner: a conflict a full listing would show.
        tenant = candidate.tenant_id
        if tenant and not any(record.get("tenantId") == tenant for record in found):
            found += await self._find(http, {"tenantId": tenant})
        return found

    async def _find(
        self, http: ProviderHTTP, params: dict[str, str | int]
    ) -> list[Mapping[str, Any]]:
        body = await http.request("GET", "/partners", params=params, kind="lookup")
        return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []

    def partner_of(self, record: Mapping[str, Any]) -> RemotePartner:
        return _partner(record)

    def readback(self, record: Mapping[str, Any]) -> dict[str, Any]:
        # The username Dub shows is its own; the code is the link key (providers.md §6).
        return {
            "email": record.get("email"),
            "name": record.get("name"),
            "tenantId": record.get("tenantId"),
            "username": _link_keys(record),
            "country": record.get("country"),
            "description": record.get("description"),
        }

    async def create(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        body = await http.request("POST", "/partners", json=dict(payload), kind="create")
        returned = _partner(body) if isinstance(body, dict) else None
        if returned is None or not (returned.id or returned.email):
            raise no_partner_in(self.name, "POST /partners")
        return returned

    def resolve_rejection(self, error: RejectedError, candidate: Candidate) -> Resolution:
        if error.status == 409:
            return Resolution(Status.CONFLICT, _short(error), field="tenantId")
        if _group_refusal(error.body) is not None:
            # An unknown group (404) or another program's (403): this row's groupId.
            return Resolution(Status.INVALID, _short(error), field="groupId")
        if error.status in (400, 404, 422):
            # 404 on a create: the row names something the program lacks (a groupId, a tag).
            return Resolution(Status.INVALID, _short(error), field=_field_of(error.body))
        return Resolution(Status.FAILED, _short(error))

    unportable: ClassVar[dict[str, str]] = {
        "links": "short links, their keys and click history stay at Dub",
        "metrics": "clicks, leads, sales, commissions and payouts are Dub's records",
        "image": "profile images are not carried (re-upload them at the target)",
        "groupId": "program groups (reward structures) exist only at Dub",
    }

    def to_neutral(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        return neutral_row(
            source_id=record.get("id"),
            email=record.get("email"),
            name=record.get("name"),
            external_id=record.get("tenantId"),
            referral_code=_link_key(record),
            country=record.get("country"),
            description=record.get("description"),
            tags=tags_text(record.get("tags") or []),
            payout_email=record.get("paypalEmail"),
            status=ACTIVE if record.get("status") == "approved" else record.get("status"),
            created_at=record.get("createdAt"),
        )


def _link_keys(record: Mapping[str, Any]) -> list[str]:
    """The keys of the partner's links, default link first: its referral codes (providers.md
    §6; Dub's `username` is not one)."""
    links = record.get("links")
    return [
        link["key"]
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, Mapping) and isinstance(link.get("key"), str) and link["key"]
    ]


def _link_key(record: Mapping[str, Any]) -> str | None:
    keys = _link_keys(record)
    return keys[0] if keys else None


def _short(error: RejectedError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"refused by dub: {body['error'].get('message', '')}"
    return error.message


def _group_refusal(body: Any) -> str | None:
    """Dub's message when a refusal is about the row's group: `Group "x" not found.` (404) or
    `Group "x" not found in your program.` (403)."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and message.startswith('Group "'):
        return message
    return None


def _field_of(body: Any) -> str | None:
    # Dub reports only the first zod issue, as "<code>: <path>: <message>".
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        parts = str(body["error"].get("message", "")).split(": ")
        if len(parts) >= 3:
            return parts[1]
    return None
