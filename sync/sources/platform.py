"""Platforms a migration reads from but never writes to (see sync/sources/__init__.py).

Each platform is one module (sync/sources/<name>.py) holding its reading rules and, at its
end, the `PlatformSource` that states them; this module holds what they share: the resolved
`Reading` of one platform account and the rate-limited client it is read through. Where the
credentials come from (the environment, or the built-in sandbox) is resolved with every
other setting of a migration's source, in sync/source_settings.py.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from pydantic import SecretStr

from sync.progress import Progress
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy

if TYPE_CHECKING:
    from sync.sandbox.builtin import BuiltIn

log = structlog.get_logger(__name__)

Rows = list[dict[str, str | None]]
# The credentials a built-in sandbox of a platform accepts stand for themselves in logs.
SANDBOX_CREDENTIAL = "sandbox-not-secret"


@dataclass(frozen=True, slots=True)
class Client:
    """The HTTP client of one read, and the base URL it reads from."""

    http: ProviderHTTP
    base_url: str


@dataclass(frozen=True, slots=True)
class PlatformSource:
    """What one read-only source platform states; its module makes one, `SOURCE`."""

    name: str
    env_keys: tuple[str, ...]  # every variable the platform needs, in order
    default_base_url: str
    default_rate_limit: int  # requests per minute: published, or a starting guess
    unportable: Mapping[str, str]
    sample_seed: str  # what the built-in sandbox holds, under samples/
    auth_headers: Callable[[Mapping[str, str]], dict[str, str]]  # credentials -> headers
    error_message: Callable[[int, Any], str]
    read: Callable[[Client, Mapping[str, str], Reading], Awaitable[Rows]]
    # In the built-in sandbox: the values of `env_keys` it accepts (default: a placeholder).
    sandbox_values: Mapping[str, str] | None = None
    # The credentials the emulator's one `api_key` joins ("a:b"); default: the first.
    sandbox_key_parts: tuple[str, ...] = ()
    # True when the platform publishes its budget: it is kept, never probed upwards.
    rate_published: bool = False
    # The variables that hold secrets; default: the first one (the key), the others name things.
    secret_env_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.secret_env_keys:
            object.__setattr__(self, "secret_env_keys", self.env_keys[:1])

    @classmethod
    def stated_in(cls, module: str, **particular: Any) -> PlatformSource:
        """The source the platform module `module` (its `__name__`) states: its NAME,
        DEFAULT_BASE_URL, DEFAULT_RATE_LIMIT, UNPORTABLE and `error_message`, stated once there,
        with what is `particular` to it (its variables, its sandbox, how it is read)."""
        facts = sys.modules[module]
        return cls(
            name=facts.NAME,
            default_base_url=facts.DEFAULT_BASE_URL,
            default_rate_limit=facts.DEFAULT_RATE_LIMIT,
            unportable=facts.UNPORTABLE,
            error_message=facts.error_message,
            **particular,
        )

    @property
    def sandbox_credentials(self) -> dict[str, str]:
        return {
            name: (self.sandbox_values or {}).get(name, SANDBOX_CREDENTIAL)
            for name in self.env_keys
        }

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        """The `api_key` a sandbox of this platform accepts for these credentials."""
        return ":".join(credentials[name] for name in self.sandbox_key_parts or self.env_keys[:1])


@dataclass(frozen=True, slots=True)
class Reading:
    """How one migration reads its source platform: where, as whom, how fast."""

    source: PlatformSource
    base_url: str
    credentials: Mapping[str, SecretStr]
    rate_limit: float
    rate_limit_known: bool
    concurrency: int
    retry: RetryPolicy
    timeout: float
    builtin: BuiltIn | None = None  # served on loopback when no credential is set

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def unportable(self) -> Mapping[str, str]:
        return self.source.unportable

    @property
    def secrets(self) -> list[str]:
        names = self.source.secret_env_keys
        return [self.credentials[name].get_secret_value() for name in names]

    def at(self, base_url: str) -> Reading:
        return replace(self, base_url=base_url)

    async def read_partners(
        self, progress: Progress | None = None, calls: Counter[str] | None = None
    ) -> Rows:
        """Every partner of the platform account, as neutral rows; the requests made are
        added to `calls`."""
        if progress:  # the platforms' readers page on their own: shown as one step
            progress("reading platform", 0, None)
        rows = await read_platform(self, calls=calls)
        if progress:
            progress("reading platform", len(rows), len(rows))
        return rows


def connect(reading: Reading, transport: httpx.AsyncBaseTransport | None = None) -> Client:
    """The rate-limited client of the source (over `transport`, in tests)."""
    source = reading.source
    plain = {name: value.get_secret_value() for name, value in reading.credentials.items()}
    http = ProviderHTTP(
        provider_name=source.name,
        base_url=reading.base_url,
        headers=source.auth_headers(plain),
        # A guessed budget (the platforms publish none) rises while nothing is refused and
        # settles at the first 429 or stated limit.
        limiter=RateLimiter(
            reading.rate_limit, adaptive=not (reading.rate_limit_known or source.rate_published)
        ),
        error_message=source.error_message,
        is_account_error=lambda status, body: status in (401, 403),
        policy=reading.retry,
        max_connections=reading.concurrency,
        timeout=reading.timeout,
        transport=transport,
    )
    return Client(http=http, base_url=reading.base_url)


async def read_platform(
    reading: Reading,
    transport: httpx.AsyncBaseTransport | None = None,
    calls: Counter[str] | None = None,
) -> Rows:
    """Every partner of the source platform, as neutral rows, in the order the platform gave;
    the requests made are added to `calls`, also when the reading fails."""
    client = connect(reading, transport)
    plain = {name: value.get_secret_value() for name, value in reading.credentials.items()}
    try:
        rows = await reading.source.read(client, plain, reading)
    finally:
        await client.http.aclose()
        if calls is not None:
            calls.update(client.http.calls)
    made = dict(client.http.calls)
    log.info("source read", source=reading.source.name, partners=len(rows), calls=made)
    return rows
