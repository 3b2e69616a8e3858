"""A provider account as a migration's source (`--from dub|partnero|promotekit`), and the
rate-limited client every provider account is reached through."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import httpx
import structlog

from sync.progress import Progress
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.remote import RemoteReader
from sync.retry import call_with_retries
from sync.sources import NeutralRows

if TYPE_CHECKING:
    from sync.sandbox.builtin import BuiltIn
    from sync.settings import Settings

log = structlog.get_logger(__name__)


def connect(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> ProviderHTTP:
    """The rate-limited HTTP client for the settings' provider account (over `transport`, in
    tests, instead of the network)."""
    provider = settings.provider
    limiter = RateLimiter(
        settings.rate_limit,
        adaptive=not settings.rate_limit_known,
        ceiling=settings.rate_ceiling,
    )
    return ProviderHTTP(
        provider_name=provider.name,
        base_url=settings.base_url,
        headers=provider.auth_headers(settings.api_key.get_secret_value()),
        limiter=limiter,
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        policy=settings.retry,
        max_connections=settings.concurrency,
        timeout=settings.timeout,
        transport=transport,
        base_path=provider.base_path,
    )


async def probe(settings: Settings, http: ProviderHTTP) -> None:
    """Let the provider learn what the account's API can do, retrying transient failures."""
    await call_with_retries(
        lambda: settings.provider.probe(http), policy=settings.retry, write=False
    )


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """A provider account read whole: its listing, each partner through its `to_neutral`."""

    settings: Settings  # the source account's: its provider, URL, key and budget

    @property
    def name(self) -> str:
        return self.settings.provider.name

    @property
    def unportable(self) -> Mapping[str, str]:
        return self.settings.provider.unportable

    @property
    def builtin(self) -> BuiltIn | None:
        return self.settings.builtin

    @property
    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()]

    def at(self, base_url: str) -> ProviderAccount:
        return ProviderAccount(replace(self.settings, base_url=base_url))

    async def read_partners(
        self, progress: Progress | None = None, calls: Counter[str] | None = None
    ) -> NeutralRows:
        settings = self.settings
        provider = settings.provider
        http = connect(settings)
        # The source's listing is this run's reading stage.
        reading = (
            (lambda _, done, total: progress("reading source", done, total)) if progress else None
        )
        reader = RemoteReader(provider, http, settings.retry, settings.concurrency, reading)
        try:
            await reader.scan(await reader.count(), keep_records=True)
        finally:
            await http.aclose()
            if calls is not None:
                calls.update(http.calls)
        log.info("source read", provider=provider.name, partners=len(reader.records))
        return [provider.to_neutral(record) for record in reader.records.values()]
