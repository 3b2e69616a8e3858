"""Partnero (partnero.com): the partners API v1, its create and invitation bodies, and the lookups
it allows (by the partner's own id always; by email only where the account proves it answers).
How its answers read is in partnero_answers.py.

Facts and assumptions (providers.md §2, seeds/003):
- `id` is the user's own id for the partner (generated when absent): it plays tenantId's role.
- The list pages with page/limit and `links.next`, with no filter and no total, so knowing who
  exists normally means reading every page. Its order is assumed to be creation order (Laravel's
  default): partners added during a scan land on the last pages and shift nobody.
- `GET /v1/partner?email=` is undocumented; `probe` decides per run whether to use it.
- A taken email, id or key is refused with a 422: Partnero never stores a second partner with
  one email, which is what makes a resend after an unknown outcome harmless here.
- No rate limit is published: 120 requests per minute by default, twice Laravel's stock API
  throttle of 60. Laravel announces its real limit in X-RateLimit-Limit on every answer, and the
  client adopts a lower announced limit at once (providers/http.py), so the guess costs at most
  a few early 429s when it is too high and `--rate-limit` is there when it is too low.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

import structlog
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sync.codes import holds_code, taken_message
from sync.errors import RejectedError
from sync.models import Candidate, RemotePartner, Status
from sync.neutral import ACTIVE, neutral_row, tags_text
from sync.providers.base import (
    BaseProvider,
    Page,
    Resolution,
    no_partner_in,
)
from sync.providers.fields import (
    Email,
    Excludes,
    NamesOne,
    PasswordPolicy,
    SplitText,
    TrimmedStr,
)
from sync.providers.http import ProviderHTTP
from sync.providers.partnero_answers import (
    data_record,
    first_error_field,
    message_of,
    parse_page,
    partner_from,
    referral_key,
    taken_fields,
)

log = structlog.get_logger(__name__)

PASSWORD_MIN_LENGTH = 8
# The columns behind Laravel's `string` rule are VARCHAR(255) unless said otherwise.
MAX_TEXT = 255


# The id is looked up at /v1/partners/{id}; a "/" would make it another path.
_NO_SLASH = Excludes("/", "may not contain '/' (it is looked up in a URL path)")
# Not trimmed: Laravel's TrimStrings middleware leaves passwords as they are.
_PASSWORD = PasswordPolicy(PASSWORD_MIN_LENGTH, "Partnero")

Text = Annotated[TrimmedStr, Field(min_length=1, max_length=MAX_TEXT)]
OwnId = Annotated[Text, AfterValidator(_NO_SLASH)]
Password = Annotated[str, AfterValidator(_PASSWORD)]
Tags = Annotated[list[Text], BeforeValidator(SplitText(","))]
PartnerEmail = Annotated[Email, Field(max_length=MAX_TEXT)]


class PartneroReferrer(BaseModel):
    """The referring partner of a multi-tier program, by its id, key or email."""

    model_config = ConfigDict(extra="forbid")

    id: Text | None = None
    key: Text | None = None
    email: PartnerEmail | None = None

    _names_someone = model_validator(mode="after")(
        NamesOne(("id", "key", "email"), "needs an id, a key or an email")
    )


class PartneroPartner(BaseModel):
    """The body of POST /v1/partners (providers.md §2.2)."""

    model_config = ConfigDict(extra="forbid")

    email: PartnerEmail
    name: Text | None = None
    surname: Text | None = None
    # Never invented: without one, Partnero generates it and the partner sets their own.
    password: Password | None = Field(default=None, repr=False)
    id: OwnId | None = None
    key: Text | None = None
    tags: Tags | None = None
    referring_partner: PartneroReferrer | None = None


class PartneroInvitation(BaseModel):
    """The body of POST /v1/partners:invite: email and name required, surname optional."""

    # The mapping's other fields (id, key, tags, password) are not part of an invitation:
    # dropped here, and named once in a warning by the pipeline.
    model_config = ConfigDict(extra="ignore")

    email: PartnerEmail
    name: Text
    surname: Text | None = None


def _status(record: Mapping[str, Any]) -> object:
    """The neutral status: an active partner not yet approved is still waiting (`pending`)."""
    status = record.get("status")
    if status == ACTIVE and record.get("approved") is False:
        return "pending"
    return status


class Partnero(BaseProvider):
    """Partnero's partners API: scan or probed lookups, 422 on a taken key, invitations."""

    name: ClassVar[str] = "partnero"
    env_key: ClassVar[str] = "PARTNERO_API_KEY"
    default_base_url: ClassVar[str] = "https://api.partnero.com/v1"
    base_path: ClassVar[str] = "/v1"
    default_rate_limit: ClassVar[int] = 120  # unpublished: see the module docstring
    schema: ClassVar[type[BaseModel]] = PartneroPartner
    invite_schema: ClassVar[type[BaseModel] | None] = PartneroInvitation
    tenant_field: ClassVar[str | None] = "id"
    # The n8n node stays within 10-100 although the docs allow 250.
    page_size: ClassVar[int] = 100
    lookup_calls_per_tenant: ClassVar[int] = 0
    code_field: ClassVar[str | None] = "key"

    unportable: ClassVar[dict[str, str]] = {
        "password": "passwords are never readable through the API: partners set a new one",
        "referrals": "referrals, commissions and rewards stay at Partnero",
        "custom_fields": "custom fields have no counterpart at the target",
        "referral_links": "referral links change with the platform",
    }

    def to_neutral(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        # Partnero's `id` is both its identifier and the user's own id for the partner.
        return neutral_row(
            source_id=record.get("id"),
            email=record.get("email"),
            first_name=record.get("name"),
            last_name=record.get("surname"),
            external_id=record.get("id"),
            referral_code=referral_key(record),
            tags=tags_text(record.get("tags") or []),
            status=_status(record),
            created_at=record.get("created_at"),
        )

    def __init__(self) -> None:
        # Unproven until `probe`: without it, existence needs a full scan.
        self.email_lookup = False
        self.lookup_calls_per_row = 0

    def error_message(self, status: int, body: Any) -> str:
        return message_of(body)

    async def probe(self, http: ProviderHTTP) -> None:
        self.email_lookup = await self._email_route_answers(http)
        self.lookup_calls_per_row = 1 if self.email_lookup else 0
        log.info("partnero lookup by email", available=self.email_lookup)

    async def _email_route_answers(self, http: ProviderHTTP) -> bool:
        """Whether the undocumented GET /v1/partner?email= finds partners by email.

        A 404 from it cannot tell "no such partner" from "no such route" (Partnero answers an
        unknown path the same way), so the route is trusted only after it has returned a partner
        known to exist (the first one listed) and answered 404 for an address nobody has. Any
        other answer, or an empty program with nobody to prove it with, means doing without.
        """
        # limit=10: within both the documented 1-250 and the n8n node's 10-100.
        body = await http.request(
            "GET", "/v1/partners", params={"page": 1, "limit": 10}, kind="probe"
        )
        listed = parse_page(body).partners
        known = listed[0] if listed else None
        if known is None or not known.email:
            return False
        nobody = f"partner-sync-probe-{secrets.token_hex(8)}@example.com"
        try:
            found = await self._get(http, "/v1/partner", {"email": known.email}, kind="probe")
            data = found.get("data") if isinstance(found, dict) else None
            if not isinstance(data, dict) or partner_from(data).id != known.id:
                return False
            return await self._get(http, "/v1/partner", {"email": nobody}, kind="probe") is None
        except RejectedError:
            return False

    async def list_page(self, http: ProviderHTTP, page: int) -> Page:
        body = await http.request(
            "GET", "/v1/partners", params={"page": page, "limit": self.page_size}, kind="list"
        )
        return parse_page(body)

    async def lookup(self, http: ProviderHTTP, candidate: Candidate) -> list[RemotePartner]:
        return [partner_from(record) for record in await self.lookup_records(http, candidate)]

    async def lookup_records(
        self, http: ProviderHTTP, candidate: Candidate
    ) -> list[Mapping[str, Any]]:
        # Without the email route this may not find the email's holder; Partnero refuses a
        # second partner with one email, so the worker may still resend (see Provider.lookup).
        found = []
        if self.email_lookup:
            by_email = await self._find(http, "/v1/partner", {"email": candidate.email})
            if by_email is not None:
                found.append(by_email)
        tenant = candidate.tenant_id
        if tenant and all(partner_from(record).tenant_id != tenant for record in found):
            path = f"/v1/partners/{quote(tenant, safe='')}"
            by_id = await self._find(http, path, None)
            if by_id is not None:
                found.append(by_id)
        return found

    async def _find(
        self, http: ProviderHTTP, path: str, params: dict[str, str | int] | None
    ) -> Mapping[str, Any] | None:
        body = await self._get(http, path, params, kind="lookup")
        return None if body is None else data_record(body, f"GET {path}")

    def partner_of(self, record: Mapping[str, Any]) -> RemotePartner:
        return partner_from(record)

    def readback(self, record: Mapping[str, Any]) -> dict[str, Any]:
        key = referral_key(record)
        tags = tags_text(record.get("tags") or [])
        return {
            "email": record.get("email"),
            "name": record.get("name"),
            "surname": record.get("surname"),
            "id": None if record.get("id") is None else str(record["id"]),
            "key": [key] if key else [],
            "tags": tags.split(",") if tags else [],
        }

    @staticmethod
    async def _get(
        http: ProviderHTTP, path: str, params: dict[str, str | int] | None, *, kind: str
    ) -> Any:
        """The body of a GET, or None for a 404."""
        try:
            return await http.request("GET", path, params=params, kind=kind)
        except RejectedError as error:
            if error.status == 404:
                return None
            raise

    async def code_holders(self, http: ProviderHTTP, code: str) -> list[RemotePartner] | None:
        # partners:search matches keys partially: only an exact key is a holder.
        body = await http.request(
            "GET", "/v1/partners:search", params={"key": code, "limit": 10}, kind="code"
        )
        return [p for p in parse_page(body).partners if holds_code(self, p, code)]

    async def create(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        body = await http.request("POST", "/v1/partners", json=dict(payload), kind="create")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise no_partner_in(self.name, "POST /v1/partners")
        return partner_from(data)

    async def invite(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        body = await http.request("POST", "/v1/partners:invite", json=dict(payload), kind="invite")
        # The seed page shows no answer body for an invitation: take the record when present.
        data = body.get("data") if isinstance(body, dict) else None
        return partner_from(data) if isinstance(data, dict) else RemotePartner(id="", email=None)

    def resolve_rejection(self, error: RejectedError, candidate: Candidate) -> Resolution:
        text = f"refused by partnero: {message_of(error.body)}"
        if error.status == 422:
            taken = taken_fields(error.body)
            if "email" in taken:
                return _email_taken(candidate)
            if "id" in taken or "key" in taken:
                # Laravel reports every failing field at once, so with the email free the id
                # or key is another partner's. The lookup still comes first, in case the API
                # stops at its first error: a partner of ours already there is found.
                held = "id" if "id" in taken else "key"
                code = candidate.payload.get("key")
                if held == "key" and isinstance(code, str):
                    text = f"{taken_message(self, code, None)} ({text})"
                return Resolution(None, text, field=held, if_not_found=Status.CONFLICT)
            return Resolution(Status.INVALID, text, field=first_error_field(error.body))
        if error.status == 400:
            # The one documented 400: "Referring partner not found".
            referrer = "referring_partner" if "referring" in text.lower() else None
            return Resolution(Status.INVALID, text, field=referrer)
        return Resolution(Status.FAILED, text)


def _email_taken(candidate: Candidate) -> Resolution:
    """A 422 for a taken email: look the holder up; if the lookup cannot see it, the refusal
    alone settles the row.

    The lookup finds the holder by email where the account has the email route, else only by
    the row's own id. When it finds nobody:
    - a row without an id matches any holder of its email: the partner `exists` (or, after an
      attempt of ours whose outcome was unknown, that attempt landed: the plan, a full scan
      then, saw no such email, and the worker counts the row as created);
    - a row with an id that nobody holds: the email belongs to a partner with another id, a
      `conflict` (an earlier attempt of ours would have stored this very id).
    So no full scan is needed to settle a taken email, and the resend after an unknown outcome
    that ran into it was the cheapest lookup there is.
    """
    if candidate.tenant_id:
        return Resolution(
            None,
            f"partnero says the email is taken, by a partner whose id is not {candidate.tenant_id}",
            field="email",
            if_not_found=Status.CONFLICT,
        )
    return Resolution(
        None,
        "partnero says a partner with this email exists (its id is not known)",
        field="email",
        if_not_found=Status.EXISTS,
    )
