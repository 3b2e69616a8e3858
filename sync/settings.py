"""Typed settings for one run, resolved in one place: flags first, then the environment, then
defaults; keys as secrets.

Resolving reads the environment and, for a keyless run, the built-in sandbox's account file
(to know its key); it starts nothing. An account with neither key nor URL is a
`sync.sandbox.builtin.BuiltIn`: the CLI serves it with `serve_builtins`, which fills in its URL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from sync.catalog import direction_mapping, mapping_option
from sync.credentials import check_base_url, credentials_from, is_loopback_url, read_key
from sync.errors import ConfigError, UsageError
from sync.migration import StatusPolicy, parse_statuses
from sync.paths import snapshot_path
from sync.providers.base import Provider
from sync.registry import PLATFORMS, get_provider
from sync.report import report_format
from sync.retry import RetryPolicy
from sync.sandbox.builtin import SANDBOX_KEY, BuiltIn, builtin_account
from sync.sources import AccountSource
from sync.sources.account import ProviderAccount
from sync.sources.platform import PlatformSource, Reading

MAX_CONCURRENCY = 64
# A roster with more invalid rows than this is more likely a broken export than bad rows.
DEFAULT_MAX_INVALID_SHARE = 0.25
# Latency we plan for before any answer is seen: enough workers to keep the budget busy.
ASSUMED_LATENCY = 1.0
# The built-in sandbox's account, beside the input: INPUT.PROVIDER.sandbox.json (a migration's
# source: NAME.from-SOURCE.sandbox.json).
SANDBOX_STATE = "sandbox.json"
NEUTRAL_STATUS = "status"  # the neutral column a migration's status policy reads
# The samples seed a source platform's built-in sandbox: inside an installed wheel, or beside the
# package in a checkout (as the built-in mappings, sync/catalog.py).
_PACKAGE = Path(__file__).resolve().parent
SAMPLES = _PACKAGE / "samples" if (_PACKAGE / "samples").is_dir() else _PACKAGE.parent / "samples"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a `plan` or `sync` run needs, resolved and checked."""

    input: Path
    provider: Provider
    base_url: str  # of a `builtin` account: set when it is served
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
    source: AccountSource | None = None  # the account a migration reads from
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    builtin: BuiltIn | None = None  # the built-in sandbox the run serves, when keyless
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


@dataclass(frozen=True, slots=True)
class Resolved:
    """One command's settings: the target, and in a migration where its partners come from."""

    target: Settings
    source: AccountSource | None = None

    @property
    def secrets(self) -> list[str]:
        """Every key the run holds, for the log redaction."""
        own = [self.target.api_key.get_secret_value()]
        return [value for value in own + (self.source.secrets if self.source else []) if value]


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a run's files live (beside the input, or a migration's in the working folder),
    and whether the run writes its built-in sandbox accounts there (a sync does)."""

    name: str
    folder: Path
    writes: bool

    def state(self, platform: str, role: str = "") -> Path:
        return self.folder / f"{self.name}.{role}{platform}.{SANDBOX_STATE}"


def resolve_settings(
    options: Mapping[str, Any], *, writes: bool = False, env: Mapping[str, str] | None = None
) -> Resolved:
    """Resolve flags > environment > defaults, for the target and, in a migration, the source.
    `writes`: the command may change the target account (a sync).

    Raises:
        UsageError: options that do not go together.
        ConfigError: a key or URL that cannot be used, or a damaged sandbox account file.
    """
    env = os.environ if env is None else env
    provider = get_provider(options["provider"])
    if options.get("invite"):
        require_invitations(provider)
    source_name: str | None = options.get("source")
    input_path: Path | None = options.get("input")
    if (input_path is None) == (source_name is None):
        raise UsageError("give either an INPUT file or --from PROVIDER, not both or neither")
    name = input_path.name if input_path else f"{source_name}-to-{provider.name}"
    where = _Where(name, input_path.parent if input_path else Path(), writes)
    checkpoint = options.get("checkpoint") or where.folder / f"{name}.{provider.name}.checkpoint"
    target = _target(options, env, provider, where, checkpoint)
    if input_path is not None:
        return Resolved(replace(target, input=input_path))
    assert source_name is not None
    platform = PLATFORMS.get(source_name)
    if platform is not None:
        source: AccountSource = _platform_reading(options, env, platform, target, where)
    else:
        source = _provider_source(options, env, get_provider(source_name), target, where)
    # The snapshot of the source is the migration's input; it lives beside the checkpoint.
    mapping = target.mapping or direction_mapping(
        source.name, provider.name, source.name in PLATFORMS
    )
    target = replace(target, input=snapshot_path(checkpoint), source=source, mapping=mapping)
    return Resolved(target, source)


def _target(
    options: Mapping[str, Any],
    env: Mapping[str, str],
    provider: Provider,
    where: _Where,
    checkpoint: Path,
) -> Settings:
    url, key, builtin = _provider_account(
        provider,
        read_key(provider.env_key, env),
        provider.env_key,
        base_url=options.get("base_url"),
        seed=options.get("sandbox_seed"),
        state=where.state(provider.name),
        writes=where.writes,
    )
    rate, known, ceiling = _budget(options, provider)
    report = options.get("report") or where.folder / f"{where.name}.{provider.name}.report.csv"
    report_format(report)
    return Settings(
        input=Path(),  # set by the caller: the file, or a migration's snapshot
        provider=provider,
        base_url=url,
        api_key=key,
        bound_url=f"built-in {provider.name} sandbox" if builtin else None,
        mapping=mapping_option(options.get("mapping")),
        checkpoint=checkpoint,
        report=report,
        rate_limit=rate,
        rate_limit_known=known,
        rate_ceiling=ceiling,
        concurrency=options.get("concurrency") or default_concurrency(max(rate, ceiling or 0)),
        encoding=options.get("encoding"),
        restart=bool(options.get("restart")),
        timeout=float(options.get("timeout") or 30.0),
        max_creates=options.get("max_creates"),
        max_invalid_share=float(options.get("max_invalid_share", 1.0)),
        recheck=bool(options.get("recheck")),
        retry=RetryPolicy(
            attempts=int(options.get("max_attempts") or 12),
            max_provider_wait=float(options.get("max_wait", 900.0)),
            outage=float(options.get("unreachable_after", 60.0)),
        ),
        builtin=builtin,
        invite=bool(options.get("invite")),
        statuses=_status_policy(options, migrating=options.get("source") is not None),
    )


def _budget(options: Mapping[str, Any], provider: Provider) -> tuple[float, bool, float | None]:
    """Requests per minute, whether that budget is known, and the most a guess rises to."""
    rate = resolve_rate_limit(provider, options.get("rate_limit"), options.get("account_plan"))
    known = options.get("rate_limit") is not None or options.get("account_plan") is not None
    if options.get("rate_limit_guess") is not None:
        if known:
            raise UsageError("--rate-limit-guess is for an unknown budget: drop --rate-limit")
        rate = float(options["rate_limit_guess"])
    return rate, known, None if known else rate_ceiling(provider)


def _provider_account(
    provider: Provider,
    key: SecretStr | None,
    key_name: str,
    *,
    base_url: str | None,
    seed: Path | None,
    state: Path,
    writes: bool,
    role: str = "",
) -> tuple[str, SecretStr, BuiltIn | None]:
    """A provider account's URL and key; with neither key nor URL, its built-in sandbox (whose
    URL is known once it is served)."""
    if key is None and base_url is None:
        warning = (
            f"{key_name} is not set: using the built-in {provider.name} sandbox on this "
            "machine; nothing leaves it"
        )
        builtin = builtin_account(state, provider.name, warning, seed=seed, writes=writes)
        return "", SecretStr(builtin.key), builtin
    url, key = _remote(
        provider.default_base_url,
        key=key,
        key_name=key_name,
        base_url=base_url,
        seed=seed,
        role=role,
    )
    return url, key, None


def _remote(
    default_base_url: str,
    *,
    key: SecretStr | None,
    key_name: str,
    base_url: str | None,
    seed: Path | None,
    role: str = "",
) -> tuple[str, SecretStr]:
    """An account reached with a key or at a URL (`role` is "from-" for a migration's source):
    the URL, and the key (on loopback without one, the sandbox's placeholder).

    Raises:
        UsageError: a sandbox seed beside a key or URL.
        ConfigError: no key for a remote URL, or a URL that cannot be used.
    """
    if seed is not None:
        raise UsageError(
            f"--{role}sandbox-seed goes with the built-in sandbox (no API key, no URL)"
        )
    url = check_base_url(base_url or default_base_url, f"--{role}base-url")
    if key is None:
        if not is_loopback_url(url):
            raise ConfigError(f"{key_name} is not set", hint=f"export {key_name}=...")
        key = SecretStr(SANDBOX_KEY)
    return url, key


def _platform_reading(
    options: Mapping[str, Any],
    env: Mapping[str, str],
    platform: PlatformSource,
    target: Settings,
    where: _Where,
) -> Reading:
    """How a source platform is read: its credentials, else its built-in sandbox.

    Raises:
        ConfigError: a credential is missing, or the URL is not usable with them.
        UsageError: a sandbox seed without the built-in sandbox, or a non-positive rate.
    """
    given = credentials_from(platform, env)
    base_url, seed = options.get("from_base_url"), options.get("from_sandbox_seed")
    builtin = None
    if given is None and base_url is None:
        names = platform.env_keys
        builtin = builtin_account(
            where.state(platform.name, "from-"),
            platform.name,
            f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} not set: reading the "
            f"built-in {platform.name} sandbox on this machine",
            seed=seed,
            writes=where.writes,
            key=platform.sandbox_key(platform.sandbox_credentials),
            sample=SAMPLES / platform.sample_seed,
        )
        url = ""
    else:
        # The credentials stand in for the one key: only whether they are given matters here.
        key = SecretStr(platform.sandbox_key(given)) if given else None
        url, _ = _remote(
            platform.default_base_url,
            key=key,
            key_name=platform.env_keys[0],
            base_url=base_url,
            seed=seed,
            role="from-",
        )
    credentials = given or platform.sandbox_credentials
    rate_limit = options.get("from_rate_limit")
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


def _provider_source(
    options: Mapping[str, Any],
    env: Mapping[str, str],
    source: Provider,
    target: Settings,
    where: _Where,
) -> ProviderAccount:
    """How a provider account is read as a migration's source."""
    key_name = options.get("from_key_env") or source.env_key
    if (
        source.name == target.provider.name
        and not options.get("from_key_env")
        and not (options.get("from_base_url") or options.get("base_url"))
    ):
        raise UsageError(
            f"--from {source.name} into {target.provider.name} needs the source account's key "
            "in another variable",
            hint="pass --from-key-env VARIABLE",
        )
    url, key, builtin = _provider_account(
        source,
        read_key(key_name, env),
        key_name,
        base_url=options.get("from_base_url"),
        seed=options.get("from_sandbox_seed"),
        state=where.state(source.name, "from-"),
        writes=where.writes,
        role="from-",
    )
    rate = resolve_rate_limit(source, options.get("from_rate_limit"), None)
    known = options.get("from_rate_limit") is not None
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


def _status_policy(options: Mapping[str, Any], *, migrating: bool) -> StatusPolicy:
    """Who moves: a migration reads the neutral `status`; a file, the column it names."""
    column = NEUTRAL_STATUS if migrating else options.get("status_column")
    include = parse_statuses(options.get("include_status"))
    if include and column is None:
        raise UsageError(
            "--include-status needs a status: migrate with --from, or name the input's status "
            "column with --status-column"
        )
    return StatusPolicy(column=column, include=include)


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
