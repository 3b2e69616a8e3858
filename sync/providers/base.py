"""The contract every provider fulfils; nothing outside `providers/` knows a provider's name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from sync.models import Candidate, RemotePartner, Status

if TYPE_CHECKING:
    from sync.errors import RejectedError
    from sync.providers.http import ProviderHTTP


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: the partners on it and whether another page follows."""

    partners: list[RemotePartner]
    has_next: bool
    # The provider's own records, aligned with `partners`, for migrations (provider-neutral
    # rows are made from them).
    records: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a provider makes of a refused create: a final status, or "look the partner up"."""

    status: Status | None  # None: the refusal means the partner may exist; look it up
    message: str
    field: str | None = None


class Provider(Protocol):
    """One partner-program platform: its schema, listing, lookups and creates."""

    name: ClassVar[str]
    env_key: ClassVar[str]  # environment variable holding the API key
    default_base_url: ClassVar[str]
    default_rate_limit: ClassVar[int]  # requests per minute
    schema: ClassVar[type[BaseModel]]
    tenant_field: ClassVar[str | None]  # the field that plays tenantId's role, if any
    page_size: ClassVar[int]
    lookup_calls_per_row: ClassVar[int]  # 0 when the provider cannot look one partner up

    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    def error_message(self, status: int, body: Any) -> str:
        """The provider's own explanation of an error response, in one line."""
        ...

    def is_account_error(self, status: int, body: Any) -> bool:
        """True when a 401/403-like answer refuses the whole account, so the run must stop."""
        ...

    async def count(self, http: ProviderHTTP) -> int | None:
        """How many partners exist, if the provider can say so cheaply (one call)."""
        ...

    async def list_page(self, http: ProviderHTTP, page: int) -> Page:
        """Fetch one page (1-based) of the stable full listing."""
        ...

    async def lookup(self, http: ProviderHTTP, candidate: Candidate) -> list[RemotePartner]:
        """Find the partners that hold this candidate's email or tenant id."""
        ...

    async def create(self, http: ProviderHTTP, payload: Mapping[str, Any]) -> RemotePartner:
        """Send one create; return the partner the provider says it stored."""
        ...

    def resolve_rejection(self, error: RejectedError) -> Resolution:
        """Turn a refused create (4xx) into an outcome, or ask for a lookup."""
        ...

    unportable: ClassVar[dict[str, str]]  # what a migration from here cannot carry, and why

    def to_neutral(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        """One of this provider's partner records as a provider-neutral row (sync.neutral)."""
        ...

    def known_fields(self) -> list[str]:
        """Field names a mapping may target, dotted for nested ones."""
        ...
