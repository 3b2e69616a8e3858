"""The contract every provider fulfils; nothing outside `providers/` knows a provider's name."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from sync.errors import AcceptedWithoutPartner, RetryableProviderError
from sync.models import Candidate, RemotePartner, Status

if TYPE_CHECKING:
    from sync.errors import RejectedError
    from sync.providers.http import ProviderHTTP


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: the partners on it, whether another page follows, and the
    listing's total when the page states it (a total that moves during a scan means the
    listing changed while it was read)."""

    partners: list[RemotePartner]
    has_next: bool
    # The provider's own records, aligned with `partners`, for migrations (provider-neutral
    # rows are made from them).
    records: Sequence[Mapping[str, Any]] = field(default_factory=list)
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a provider makes of a refused create: a final status, or "look the partner up".

    With `status` None the refusal says a key of the row is taken: the worker looks the partner
    up and classifies what it finds; when the lookup finds nobody, the row ends `if_not_found`.
    """

    status: Status | None
    message: str
    field: str | None = None
    if_not_found: Status = Status.FAILED


class Provider(Protocol):
    """One partner-program platform: its schema, listing, lookups and creates."""

    name: ClassVar[str]
    env_key: ClassVar[str]  # environment variable holding the API key
    default_base_url: ClassVar[str]  # as the provider's documentation writes it
    # The path its documentation ends the base URL with, which this module's paths start with
    # ("/v1" for Partnero): given in the base URL or not, it is sent once.
    base_path: ClassVar[str]
    default_rate_limit: ClassVar[int]  # requests per minute
    schema: ClassVar[type[BaseModel]]
    # The body of an invitation, or None when the provider cannot invite partners.
    invite_schema: ClassVar[type[BaseModel] | None]
    tenant_field: ClassVar[str | None]  # the field that plays tenantId's role, if any
    page_size: ClassVar[int]
    # Calls to look one row up; 0 when the provider cannot find a partner by email one by one.
    # An instance value: `probe` may learn it from the account's API.
    lookup_calls_per_row: int
    # At most this many more for a row with a tenant id (Dub looks it up by tenantId too).
    lookup_calls_per_tenant: ClassVar[int]

    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    def error_message(self, status: int, body: Any) -> str:
        """The provider's own explanation of an error response, in one line."""
        ...

    def is_account_error(self, status: int, body: Any) -> bool:
        """True when a 401/403-like answer refuses the whole account, so the run must stop."""
        ...

    async def probe(self, http: ProviderHTTP) -> None:
        """Learn, once per run and before any other call, what this account's API can do."""
        ...

    async def count(self, http: ProviderHTTP) -> int | None:
        """How many partners exist, if the provider can say so cheaply (one call)."""
        ...

    async def list_page(self, http: ProviderHTTP, page: int) -> Page:
        """Fetch one page (1-based) of the stable full listing."""
        ...

    async def lookup(self, http: ProviderHTTP, candidate: Candidate) -> list[RemotePartner]:
        """Find the partners that hold this candidate's email or tenant id.

        An empty answer means "no such partner", and the worker may then send the create again
        after an unknown outcome. Only a provider that itself refuses a second partner with the
        same email may return without searching by email (when it cannot): a resend there
        cannot duplicate anyone, and its refusal settles the row (`resolve_rejection`).
        """
        ...

    async def create(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        """Send one create; return the partner the provider says it stored."""
        ...

    async def invite(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        """Send one invitation (only called when `invite_schema` is set)."""
        ...

    def resolve_rejection(self, error: RejectedError, candidate: Candidate) -> Resolution:
        """Turn a refused create or invitation (4xx) into an outcome, or ask for a lookup."""
        ...

    unportable: ClassVar[dict[str, str]]  # what a migration from here cannot carry, and why
    # The create body's field for the partner's referral code (sync.codes), if any, and
    # whether the provider tells codes apart by case.
    code_field: ClassVar[str | None]
    codes_ignore_case: ClassVar[bool]
    # True when a taken code is not refused but replaced by another (Dub's suffixed key).
    suffixes_taken_codes: ClassVar[bool]

    async def code_holders(self, http: ProviderHTTP, code: str) -> list[RemotePartner] | None:
        """The partners holding this referral code, or None if the API cannot be asked."""
        ...

    async def lookup_records(
        self, http: ProviderHTTP, candidate: Candidate
    ) -> list[Mapping[str, Any]]:
        """`lookup`, answering with the provider's own records (for `verify`)."""
        ...

    def partner_of(self, record: Mapping[str, Any]) -> RemotePartner:
        """One of the provider's partner records, reduced to what matching needs."""
        ...

    def readback(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """What a stored partner holds, by create-body field (dotted), for `verify`; a field
        holding codes reads as the list of the partner's codes. Fields absent here cannot be
        read back and are not compared."""
        ...

    def to_neutral(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        """One of this provider's partner records as a provider-neutral row (sync.neutral)."""
        ...

    def known_fields(self) -> list[str]:
        """Field names a mapping may target, dotted for nested ones."""
        ...


class BaseProvider:
    """Defaults most providers share: bearer auth, nothing to probe, no count, no invitations.

    Subclasses set the class attributes of `Provider` and implement listing, lookups, creates
    and the reading of refusals.
    """

    schema: ClassVar[type[BaseModel]]
    invite_schema: ClassVar[type[BaseModel] | None] = None
    name: ClassVar[str]
    code_field: ClassVar[str | None] = None
    codes_ignore_case: ClassVar[bool] = False
    suffixes_taken_codes: ClassVar[bool] = False

    async def code_holders(self, http: ProviderHTTP, code: str) -> list[RemotePartner] | None:
        return None

    def readback(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def is_account_error(self, status: int, body: Any) -> bool:
        # 401 is the key; 403 is the key's rights, the plan or a limit of the account (Dub:
        # plan, role, partner limit; Partnero: "not allowed for this token"): all account-wide.
        return status in (401, 403)

    async def probe(self, http: ProviderHTTP) -> None:
        return None

    async def count(self, http: ProviderHTTP) -> int | None:
        return None

    async def invite(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        raise NotImplementedError(f"{self.name} cannot invite partners")

    def known_fields(self) -> list[str]:
        return field_paths(self.schema)


def field_paths(schema: type[BaseModel]) -> list[str]:
    """Every field of `schema`, and `parent.child` for the fields of nested models."""
    paths = []
    for name, info in schema.model_fields.items():
        paths.append(name)
        nested = _nested_model(info.annotation)
        if nested is not None:
            paths.extend(f"{name}.{child}" for child in field_paths(nested))
    return paths


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside `Model`, `Model | None` or `Annotated[Model, ...]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None


def unexpected_answer(provider: str, where: str) -> RetryableProviderError:
    """A 2xx whose body is not the documented shape: like an unreadable answer, worth a retry
    (and, for a create, a lookup before anything is resent)."""
    return RetryableProviderError(
        f"{provider}: unexpected answer to {where} (not the documented shape)", reached=True
    )


def no_partner_in(provider: str, where: str) -> AcceptedWithoutPartner:
    """A 2xx answer to a create that names no partner (empty, `null`, another shape): the
    provider accepted the create, so it is looked up, never sent again."""
    return AcceptedWithoutPartner(f"{provider}: {where} answered 2xx without a partner record")
