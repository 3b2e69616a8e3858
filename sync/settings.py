"""Typed settings for one run: flags first, then the environment, then defaults; keys as secrets."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from sync.errors import ConfigError, UsageError
from sync.migration import StatusPolicy
from sync.providers.base import Provider
from sync.retry import RetryPolicy

MAX_CONCURRENCY = 64
# A roster with more invalid rows than this is more likely a broken export than bad rows.
DEFAULT_MAX_INVALID_SHARE = 0.25
# Latency we plan for before any answer is seen: enough workers to keep the budget busy.
ASSUMED_LATENCY = 1.0


class Origin(Protocol):
    """Where a migration's partners come from: a provider account or a source platform."""

    @property
    def name(self) -> str: ...

    @property
    def unportable(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a `plan` or `sync` run needs, resolved and checked."""

    input: Path
    provider: Provider
    base_url: str
    api_key: SecretStr
    bound_url: str | None = None  # the account a checkpoint binds, when not its base URL
    mapping: Path | None = None
    checkpoint: Path | None = None
    report: Path | None = None
    rate_limit: float = 60.0
    rate_limit_known: bool = True  # False: rate_limit is a starting guess the tool adapts
    rate_ceiling: float | None = None  # the most an adaptive budget rises to
    concurrency: int = 4
    encoding: str | None = None
    restart: bool = False
    timeout: float = 30.0  # seconds for one answer
    max_creates: int | None = None
    max_invalid_share: float = DEFAULT_MAX_INVALID_SHARE
    recheck: bool = False  # ignore what earlier runs learned about the account
    source: Origin | None = None  # the platform a migration reads from
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sandbox_seed: Path | None = None  # set when the run uses the embedded sandbox
    sandbox_state: Path | None = None  # the embedded sandbox's account file, which it writes
    invite: bool = False  # send invitations instead of creating partners
    statuses: StatusPolicy = field(default_factory=StatusPolicy)  # who moves (sync.migration)

    @property
    def account(self) -> str:
        """A fingerprint of the account: a hash of the key, never the key."""
        return hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()[:16]

    @property
    def mode(self) -> str:
        return "invite" if self.invite else "create"

    @property
    def schema(self) -> type[BaseModel]:
        """The body each row must fit: the provider's create body, or its invitation."""
        if self.invite:
            return require_invitations(self.provider)
        return self.provider.schema

    @property
    def tenant_field(self) -> str | None:
        # An invitation carries no id of the user's own: invited rows match by email alone.
        return None if self.invite else self.provider.tenant_field

    @property
    def tenant_label(self) -> str:
        """What messages call the tenant id: the provider's own name for it."""
        return self.provider.tenant_field or "tenantId"


def require_invitations(provider: Provider) -> type[BaseModel]:
    """The provider's invitation body.

    Raises:
        UsageError: the provider cannot invite partners.
    """
    if provider.invite_schema is None:
        raise UsageError(
            f"{provider.name} cannot invite partners",
            hint="drop --invite to create the partners instead",
        )
    return provider.invite_schema


def resolve_api_key(provider: Provider, environ: Mapping[str, str]) -> SecretStr | None:
    """The provider's key from its variable (surrounding whitespace dropped), if set.

    Raises:
        ConfigError: the key holds a character no API key has (see `read_key`).
    """
    return read_key(provider.env_key, environ)


def read_key(name: str, environ: Mapping[str, str]) -> SecretStr | None:
    """The key in variable `name`, trimmed; None when unset or blank.

    Raises:
        ConfigError: inner whitespace, a line break, a control or a non-ASCII character: a key
            pasted wrongly, which would fail every request (or leak into an error) if sent. The
            message never shows the key.
    """
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not all("!" <= char <= "~" for char in value):
        raise ConfigError(
            f"{name} holds a character an API key cannot have (a space, a line break, a "
            "control or non-ASCII character); the key is not shown",
            hint=f"copy the key again and export {name}=... on one line",
        )
    return SecretStr(value)


def resolve_rate_limit(provider: Provider, rate_limit: float | None, plan: str | None) -> float:
    """Requests per minute: --rate-limit, else the account plan's budget, else the default.

    Raises:
        UsageError: an unknown plan name or a non-positive rate.
    """
    if rate_limit is not None:
        if rate_limit <= 0:
            raise UsageError("--rate-limit must be a positive number of requests per minute")
        return rate_limit
    if plan is not None:
        plans: dict[str, int] = getattr(provider, "plans", {})
        if plan not in plans:
            known = ", ".join(plans) or "none"
            raise UsageError(f"{provider.name} has no plan {plan!r}", hint=f"known plans: {known}")
        return float(plans[plan])
    return float(provider.default_rate_limit)


def rate_ceiling(provider: Provider) -> float | None:
    """The most an unknown budget can be: the provider's largest plan, if it publishes plans."""
    plans: dict[str, int] = getattr(provider, "plans", {})
    return float(max(plans.values())) if plans else None


def default_concurrency(rate_limit: float) -> int:
    """Workers the budget needs at a pessimistic latency (rate x latency), bounded."""
    per_second = rate_limit / 60.0
    return max(2, min(MAX_CONCURRENCY, int(per_second * ASSUMED_LATENCY) + 2))


def check_base_url(url: str, option: str = "--base-url") -> str:
    """Refuse plain http:// except on loopback, where the sandbox lives (keys travel in headers),
    and any URL that carries credentials.

    Raises:
        ConfigError: the URL is unusable, holds credentials or would send the key unencrypted.
    """
    try:
        parts = urlsplit(url)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        raise ConfigError(f"{option} is not a URL") from None
    if has_credentials or "@" in parts.netloc:
        # Not echoed: what stands before the @ is a secret, and URLs end up in checkpoints.
        raise ConfigError(
            f"{option} holds credentials (user:password@host); they are not shown",
            hint="give the URL without them: the API key belongs in the environment",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{option} {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{option} {url} is plain http: the API key would cross the network unencrypted",
            hint="use https://, or a loopback address for a local sandbox",
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname
    return bool(host) and _is_loopback(host or "")


def environ() -> Mapping[str, str]:
    return os.environ
