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

from sync.accounts import Given, provider_account
from sync.budget import default_concurrency, target_budget
from sync.catalog import direction_mapping, mapping_option
from sync.errors import UsageError
from sync.migration import StatusPolicy, parse_statuses
from sync.paths import snapshot_path
from sync.providers.base import Provider
from sync.registry import PLATFORMS, get_provider
from sync.report import report_format
from sync.retry import RetryPolicy
from sync.sandbox.builtin import BuiltIn
from sync.source_settings import migration_source
from sync.sources import AccountSource

# A roster with more invalid rows than this is more likely a broken export than bad rows.
DEFAULT_MAX_INVALID_SHARE = 0.25
NEUTRAL_STATUS = "status"  # the neutral column a migration's status policy reads


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

    @property
    def secrets(self) -> list[str]:
        """Every key the run holds (the target's, a migration source's), for the log redaction."""
        own = [self.api_key.get_secret_value()]
        return [value for value in own + (self.source.secrets if self.source else []) if value]


def resolve_settings(
    options: Mapping[str, Any], *, writes: bool = False, env: Mapping[str, str] | None = None
) -> Settings:
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
    given = Given(options, env, name, input_path.parent if input_path else Path(), writes)
    checkpoint = options.get("checkpoint") or given.folder / f"{name}.{provider.name}.checkpoint"
    target = _target(given, provider, checkpoint)
    if input_path is not None:
        return replace(target, input=input_path)
    assert source_name is not None
    source = migration_source(given, source_name, target)
    # The snapshot of the source is the migration's input; it lives beside the checkpoint.
    mapping = target.mapping or direction_mapping(
        source.name, provider.name, source.name in PLATFORMS
    )
    return replace(target, input=snapshot_path(checkpoint), source=source, mapping=mapping)


def _target(given: Given, provider: Provider, checkpoint: Path) -> Settings:
    """The target account's settings; its input is set by the caller."""
    options = given.options
    url, key, builtin = provider_account(given, provider, provider.env_key)
    rate, known, ceiling = target_budget(options, provider)
    report = options.get("report") or given.folder / f"{given.name}.{provider.name}.report.csv"
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
