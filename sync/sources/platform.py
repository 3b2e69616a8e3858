"""Platforms a migration reads from but never writes to (see sync/sources/__init__.py).

Each is one module with its reading rules (sync/sources/<name>.py); this one holds what they
share: their credentials from the environment, the built-in sandbox when none are set, the
rate-limited client, and the snapshot of neutral rows a migration runs on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import structlog
from pydantic import SecretStr

from sync.errors import ConfigError, UsageError
from sync.files import write_private
from sync.neutral import snapshot_csv
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy
from sync.settings import check_base_url, is_loopback_url, read_key
from sync.sources import firstpromoter, partnerstack, rewardful, tapfiliate, tolt

log = structlog.get_logger(__name__)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
Rows = list[dict[str, str | None]]


@dataclass(frozen=True, slots=True)
class Client:
    """The HTTP client of one read, and the base URL it reads from."""

    http: ProviderHTTP
    base_url: str


class PlatformSource:
    """What every read-only source platform states; subclasses read the roster."""

    name: ClassVar[str]
    env_keys: ClassVar[tuple[str, ...]]  # every variable the platform needs, in order
    secret_env_keys: ClassVar[tuple[str, ...]]  # those of them that hold secrets
    default_base_url: ClassVar[str]
    default_rate_limit: ClassVar[int]  # requests per minute: published, or a starting guess
    # True when the platform publishes its budget: it is kept, never probed upwards.
    rate_published: ClassVar[bool] = False
    unportable: ClassVar[dict[str, str]]
    sample_seed: ClassVar[str]  # what the built-in sandbox holds, under samples/
    # In the built-in sandbox: the values of `env_keys` it accepts.
    sandbox_credentials: ClassVar[dict[str, str]]

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        raise NotImplementedError

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        """The `api_key` a sandbox of this platform accepts for these credentials."""
        raise NotImplementedError

    def error_message(self, status: int, body: Any) -> str:
        raise NotImplementedError

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        raise NotImplementedError


class PartnerStackSource(PlatformSource):
    name = partnerstack.NAME
    env_keys = (partnerstack.PUBLIC_KEY_ENV, partnerstack.SECRET_KEY_ENV)
    secret_env_keys = env_keys
    default_base_url = partnerstack.DEFAULT_BASE_URL
    default_rate_limit = partnerstack.DEFAULT_RATE_LIMIT
    unportable = partnerstack.UNPORTABLE
    sample_seed = "partnerstack_partners.json"
    sandbox_credentials: ClassVar[dict[str, str]] = dict.fromkeys(env_keys, "sandbox-not-secret")

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        public, secret = (credentials[name] for name in self.env_keys)
        return partnerstack.auth_headers(public, secret)

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        return ":".join(credentials[name] for name in self.env_keys)

    def error_message(self, status: int, body: Any) -> str:
        return partnerstack.error_message(status, body)

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        return await partnerstack.read_roster(client.http, reading.retry, reading.concurrency)


class TapfiliateSource(PlatformSource):
    name = tapfiliate.NAME
    env_keys = (tapfiliate.API_KEY_ENV, tapfiliate.PROGRAM_ID_ENV)
    secret_env_keys = (tapfiliate.API_KEY_ENV,)
    default_base_url = tapfiliate.DEFAULT_BASE_URL
    default_rate_limit = tapfiliate.DEFAULT_RATE_LIMIT
    unportable = tapfiliate.UNPORTABLE
    sample_seed = "tapfiliate_affiliates.json"
    sandbox_credentials: ClassVar[dict[str, str]] = {
        tapfiliate.API_KEY_ENV: "sandbox-not-secret",
        tapfiliate.PROGRAM_ID_ENV: "sandbox-program",  # the emulator's program
    }

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return tapfiliate.auth_headers(credentials[tapfiliate.API_KEY_ENV])

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        return credentials[tapfiliate.API_KEY_ENV]

    def error_message(self, status: int, body: Any) -> str:
        return tapfiliate.error_message(status, body)

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        fetch = tapfiliate.page_fetcher(client.http, reading.retry)
        return await tapfiliate.read_roster(fetch, credentials[tapfiliate.PROGRAM_ID_ENV])


class RewardfulSource(PlatformSource):
    name = rewardful.NAME
    env_keys = (rewardful.API_SECRET_ENV,)
    secret_env_keys = env_keys
    default_base_url = rewardful.DEFAULT_BASE_URL
    default_rate_limit = rewardful.DEFAULT_RATE_LIMIT
    rate_published = True
    unportable = rewardful.UNPORTABLE
    sample_seed = "rewardful_affiliates.json"
    sandbox_credentials: ClassVar[dict[str, str]] = {rewardful.API_SECRET_ENV: "sandbox-not-secret"}

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return rewardful.auth_headers(credentials[rewardful.API_SECRET_ENV])

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        return credentials[rewardful.API_SECRET_ENV]

    def error_message(self, status: int, body: Any) -> str:
        return rewardful.error_message(status, body)

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        return await rewardful.read_roster(client.http, reading.retry)


class ToltSource(PlatformSource):
    name = tolt.NAME
    env_keys = (tolt.API_KEY_ENV, tolt.PROGRAM_ID_ENV)
    secret_env_keys = (tolt.API_KEY_ENV,)
    default_base_url = tolt.DEFAULT_BASE_URL
    default_rate_limit = tolt.DEFAULT_RATE_LIMIT
    rate_published = True
    unportable = tolt.UNPORTABLE
    sample_seed = "tolt_partners.json"
    sandbox_credentials: ClassVar[dict[str, str]] = {
        tolt.API_KEY_ENV: "sandbox-not-secret",
        tolt.PROGRAM_ID_ENV: "prg_sandbox",  # the emulator's program
    }

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return tolt.auth_headers(credentials[tolt.API_KEY_ENV])

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        return credentials[tolt.API_KEY_ENV]

    def error_message(self, status: int, body: Any) -> str:
        return tolt.error_message(status, body)

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        return await tolt.read_roster(client.http, reading.retry, credentials[tolt.PROGRAM_ID_ENV])


class FirstPromoterSource(PlatformSource):
    name = firstpromoter.NAME
    env_keys = (firstpromoter.API_KEY_ENV, firstpromoter.ACCOUNT_ID_ENV)
    secret_env_keys = (firstpromoter.API_KEY_ENV,)
    default_base_url = firstpromoter.DEFAULT_BASE_URL
    default_rate_limit = firstpromoter.DEFAULT_RATE_LIMIT
    rate_published = True
    unportable = firstpromoter.UNPORTABLE
    sample_seed = "firstpromoter_promoters.json"
    sandbox_credentials: ClassVar[dict[str, str]] = {
        firstpromoter.API_KEY_ENV: "sandbox-not-secret",
        firstpromoter.ACCOUNT_ID_ENV: "acc_sandbox",
    }

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        key, account = (credentials[name] for name in self.env_keys)
        return firstpromoter.auth_headers(key, account)

    def sandbox_key(self, credentials: Mapping[str, str]) -> str:
        # The emulator takes "key:account" and checks both headers against it.
        return ":".join(credentials[name] for name in self.env_keys)

    def error_message(self, status: int, body: Any) -> str:
        return firstpromoter.error_message(status, body)

    async def read(self, client: Client, credentials: Mapping[str, str], reading: Reading) -> Rows:
        return await firstpromoter.read_roster(client.http, reading.retry)


# The registry: `--from` choices, the built-in sandboxes and the migration set-up read it.
PLATFORMS: dict[str, type[PlatformSource]] = {
    source.name: source
    for source in (
        FirstPromoterSource,
        PartnerStackSource,
        RewardfulSource,
        TapfiliateSource,
        ToltSource,
    )
}


def credentials_from(source: PlatformSource, env: Mapping[str, str]) -> dict[str, str] | None:
    """The platform's credentials from the environment; None when none of them is set.

    Raises:
        ConfigError: some are set and another is not (it is named), or one holds a character
            no key has (`read_key`).
    """
    keys = {name: read_key(name, env) for name in source.env_keys}
    values = {name: key.get_secret_value() if key else "" for name, key in keys.items()}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(
            f"{missing[0]} is not set ({source.name} needs {' and '.join(source.env_keys)})",
            hint=f"export {missing[0]}=...",
        )
    return values


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

    @property
    def secrets(self) -> list[str]:
        names = self.source.secret_env_keys
        return [self.credentials[name].get_secret_value() for name in names]


def resolve_reading(
    stack: contextlib.ExitStack,
    source: PlatformSource,
    env: Mapping[str, str],
    *,
    base_url: str | None,
    seed: Path | None,
    rate_limit: float | None,
    retry: RetryPolicy,
    timeout: float,
    concurrency: Callable[[float], int],
) -> Reading:
    """Resolve a platform source; with no credentials and no URL, start its built-in sandbox.

    Raises:
        ConfigError: a credential is missing, or the URL is not usable with them.
        UsageError: a sandbox seed without the built-in sandbox, or a non-positive rate.
    """
    given = credentials_from(source, env)
    if given is None and base_url is None:
        from sync.sandbox import Sandbox, load_seed

        given = dict(source.sandbox_credentials)
        server = stack.enter_context(
            Sandbox(
                source.name,
                seed=load_seed(seed or SAMPLES / source.sample_seed),
                api_key=source.sandbox_key(given),
            )
        )
        base_url = server.base_url
        log.warning(
            f"{' and '.join(source.env_keys)} {'is' if len(source.env_keys) == 1 else 'are'} "
            f"not set: reading the built-in {source.name} "
            "sandbox on this machine",
            sandbox=base_url,
        )
    elif seed is not None:
        raise UsageError("--from-sandbox-seed goes with the built-in sandbox (no keys, no URL)")
    url = check_base_url(base_url or source.default_base_url, "--from-base-url")
    if given is None:
        if not is_loopback_url(url):
            raise ConfigError(
                f"{source.env_keys[0]} is not set", hint=f"export {source.env_keys[0]}=..."
            )
        given = dict(source.sandbox_credentials)
    if rate_limit is not None and rate_limit <= 0:
        raise UsageError("--from-rate-limit must be a positive number of requests per minute")
    rate = float(rate_limit or source.default_rate_limit)
    return Reading(
        source=source,
        base_url=url,
        credentials={name: SecretStr(value) for name, value in given.items()},
        rate_limit=rate,
        rate_limit_known=rate_limit is not None,
        concurrency=concurrency(rate),
        retry=retry,
        timeout=timeout,
    )


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


async def export_platform(
    reading: Reading,
    snapshot: Path,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Read every partner of the source platform into the migration's neutral snapshot.

    Rows are ordered by the source's creation time (then id), so row numbers mean the same
    partner every time. Returns how many partners were read.
    """
    client = connect(reading, transport)
    plain = {name: value.get_secret_value() for name, value in reading.credentials.items()}
    try:
        rows = await reading.source.read(client, plain, reading)
    finally:
        await client.http.aclose()
    rows.sort(key=lambda row: (row["created_at"] or "", row["source_id"] or ""))
    write_private(snapshot, snapshot_csv(rows))
    calls = dict(client.http.calls)
    log.info("source read", source=reading.source.name, partners=len(rows), calls=calls)
    return len(rows)
