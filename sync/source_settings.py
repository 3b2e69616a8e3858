"""A migration's source, resolved: a source platform read with its credentials (or its built-in
sandbox), or a provider account read with its own key, each with its own rate budget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from sync.accounts import FROM, Given, provider_account, remote_account
from sync.budget import default_concurrency, rate_ceiling, resolve_rate_limit
from sync.credentials import credentials_from
from sync.errors import UsageError
from sync.providers.base import Provider
from sync.registry import PLATFORMS, get_provider
from sync.sandbox.builtin import BuiltIn, builtin_account
from sync.sources import AccountSource
from sync.sources.account import ProviderAccount
from sync.sources.platform import PlatformSource, Reading

if TYPE_CHECKING:
    from sync.settings import Settings

# The samples seed a source platform's built-in sandbox: inside an installed wheel, or beside the
# package in a checkout (as the built-in mappings, sync/catalog.py).
_PACKAGE = Path(__file__).resolve().parent
SAMPLES = _PACKAGE / "samples" if (_PACKAGE / "samples").is_dir() else _PACKAGE.parent / "samples"


def migration_source(given: Given, name: str, target: Settings) -> AccountSource:
    """The account a migration reads: the source platform or the provider called `name`.

    Raises:
        UsageError: options that do not go together.
        ConfigError: a credential is missing, or a key or URL cannot be used.
    """
    platform = PLATFORMS.get(name)
    if platform is not None:
        return _platform_reading(given, platform, target)
    return _provider_source(given, get_provider(name), target)


def _platform_reading(given: Given, platform: PlatformSource, target: Settings) -> Reading:
    """How a source platform is read: its credentials, else its built-in sandbox.

    Raises:
        ConfigError: a credential is missing, or the URL is not usable with them.
        UsageError: a sandbox seed without the built-in sandbox, or a non-positive rate.
    """
    given_credentials = credentials_from(platform, given.env)
    builtin = None
    if given_credentials is None and given.option("base_url", FROM) is None:
        builtin = _platform_builtin(given, platform)
        url = ""
    else:
        # The credentials stand in for the one key: only whether they are given matters here.
        key = SecretStr(platform.sandbox_key(given_credentials)) if given_credentials else None
        url, _ = remote_account(
            platform.default_base_url, given, key=key, key_name=platform.env_keys[0], role=FROM
        )
    credentials = given_credentials or platform.sandbox_credentials
    rate_limit = given.option("rate_limit", FROM)
    if rate_limit is not None and rate_limit <= 0:
        raise UsageError("--from-rate-limit must be a positive number of requests per minute")
    rate = float(rate_limit or platform.default_rate_limit)
    return Reading(
        source=platform,
        base_url=url,
        credentials={name: SecretStr(value) for name, value in credentials.items()},
        rate_limit=rate,
        rate_limit_known=rate_limit is not None,
        concurrency=default_concurrency(rate),
        retry=target.retry,
        timeout=target.timeout,
        builtin=builtin,
    )


def _platform_builtin(given: Given, platform: PlatformSource) -> BuiltIn:
    """The built-in sandbox that stands in for a source platform whose credentials are unset."""
    names = platform.env_keys
    return builtin_account(
        given.state(platform.name, FROM),
        platform.name,
        f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} not set: reading the "
        f"built-in {platform.name} sandbox on this machine",
        seed=given.option("sandbox_seed", FROM),
        writes=given.writes,
        key=platform.sandbox_key(platform.sandbox_credentials),
        sample=SAMPLES / platform.sample_seed,
    )


def _provider_source(given: Given, source: Provider, target: Settings) -> ProviderAccount:
    """How a provider account is read as a migration's source.

    Raises:
        UsageError: the source is the target's provider and no other key variable is named.
    """
    key_name = given.option("key_env", FROM) or source.env_key
    if (
        source.name == target.provider.name
        and not given.option("key_env", FROM)
        and not (given.option("base_url", FROM) or given.option("base_url"))
    ):
        raise UsageError(
            f"--from {source.name} into {target.provider.name} needs the source account's key "
            "in another variable",
            hint="pass --from-key-env VARIABLE",
        )
    url, key, builtin = provider_account(given, source, key_name, role=FROM)
    rate = resolve_rate_limit(source, given.option("rate_limit", FROM), None)
    known = given.option("rate_limit", FROM) is not None
    reading = replace(
        target,
        provider=source,
        base_url=url,
        api_key=key,
        bound_url=None,
        rate_limit=rate,
        rate_limit_known=known,
        rate_ceiling=None if known else rate_ceiling(source),
        concurrency=default_concurrency(rate),
        builtin=builtin,
        source=None,
    )
    return ProviderAccount(reading)
