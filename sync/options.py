"""The command line's options resolved into `Settings`: flags > environment > defaults.

Also where each account is reached: a key and URL, or, with neither, the built-in sandbox,
started for the length of the run (the returned `ExitStack` stops it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr

from sync import logs
from sync.catalog import builtin_mapping, migration_mapping
from sync.errors import ConfigError, UsageError
from sync.migration import StatusPolicy, parse_statuses
from sync.paths import snapshot_path
from sync.providers import get_provider
from sync.providers.base import Provider
from sync.report import report_format
from sync.retry import RetryPolicy
from sync.settings import (
    Settings,
    check_base_url,
    default_concurrency,
    environ,
    is_loopback_url,
    rate_ceiling,
    read_key,
    require_invitations,
    resolve_api_key,
    resolve_rate_limit,
)
from sync.sources.platform import PLATFORMS, Reading, resolve_reading

log = structlog.get_logger("partner-sync")

NEUTRAL_STATUS = "status"  # the neutral column a migration's status policy reads

# The built-in sandbox accepts any key; this one says what it is wherever it shows.
SANDBOX_KEY = "sandbox-key-not-secret"
# The built-in sandbox's account, beside the input: INPUT.PROVIDER.sandbox.json (a migration's
# source: NAME.from-SOURCE.sandbox.json).
SANDBOX_STATE = "sandbox.json"


@dataclass(frozen=True, slots=True)
class Account:
    """Where one provider account is reached, and with which key."""

    base_url: str
    key: SecretStr
    embedded: bool  # the built-in sandbox, whose account is kept in a state file
    bound_url: str | None = None  # what a checkpoint binds instead of the (changing) URL
    state: Path | None = None  # the built-in sandbox's account file


def _account(
    stack: contextlib.ExitStack,
    provider: Provider,
    *,
    key: SecretStr | None,
    key_name: str,
    base_url: str | None,
    seed: Path | None,
    seed_option: str,
    state: Path,
    url_option: str = "--base-url",
) -> Account:
    """Resolve an account; with neither key nor URL, serve the built-in sandbox's account
    kept in `state` (made from `seed` the first time)."""
    if base_url is None and key is None:
        return _sandbox_account(stack, provider, key_name=key_name, seed=seed, state=state)
    if seed is not None:
        raise UsageError(f"{seed_option} goes with the built-in sandbox (no API key, no URL)")
    url = check_base_url(base_url or provider.default_base_url, url_option)
    if key is None:
        if not is_loopback_url(url):
            raise ConfigError(f"{key_name} is not set", hint=f"export {key_name}=...")
        key = SecretStr(SANDBOX_KEY)
    return Account(base_url=url, key=key, embedded=False)


def _sandbox_account(
    stack: contextlib.ExitStack,
    provider: Provider,
    *,
    key_name: str,
    seed: Path | None,
    state: Path,
) -> Account:
    from sync.sandbox import load_seed
    from sync.sandbox.state import persistent_sandbox, read_state

    try:
        kept = read_state(state, provider.name) is not None
    except ValueError as exc:
        raise ConfigError(str(exc), hint=f"delete {state} to start a new sandbox account") from None
    if kept and seed is not None:
        log.info("the sandbox account exists: the seed only fills a new one", state=str(state))
    records = load_seed(seed) if seed is not None and not kept else None
    server, key = stack.enter_context(
        persistent_sandbox(provider.name, state, seed=records, key_prefix=SANDBOX_KEY)
    )
    log.warning(
        f"{key_name} is not set: using the built-in {provider.name} sandbox on this "
        "machine; nothing leaves it",
        sandbox=server.base_url,
        state=str(state),
    )
    return Account(
        base_url=server.base_url,
        key=SecretStr(key),
        embedded=True,
        bound_url=f"built-in {provider.name} sandbox",
        state=state,
    )


def resolve_settings(
    options: dict[str, Any],
) -> tuple[Settings, Settings | Reading | None, contextlib.ExitStack]:
    """Resolve flags > environment > defaults, for the target and, in a migration, the source
    (the second value: how the source account or platform is read)."""
    stack = contextlib.ExitStack()
    provider = get_provider(options["provider"])
    invite = bool(options.get("invite"))
    if invite:
        require_invitations(provider)
    env = environ()
    key = resolve_api_key(provider, env)
    source_name = options.get("source")
    platform = PLATFORMS[source_name]() if source_name in PLATFORMS else None
    source = get_provider(source_name) if source_name and platform is None else None
    origin_name = source.name if source else (platform.name if platform else None)
    source_key_name = options.get("from_key_env") or (source.env_key if source else "")
    source_secret = read_key(source_key_name, env) if source else None
    source_key = source_secret.get_secret_value() if source_secret else ""
    logs.configure(
        secrets=[
            value
            for value in (
                key.get_secret_value() if key else "",
                source_key,
                *(
                    env.get(name, "").strip()
                    for name in (platform.secret_env_keys if platform else ())
                ),
            )
            if value
        ],
        json=options.get("json_logs"),
        verbose=bool(options.get("verbose")),
    )
    input_path: Path | None = options.get("input")
    if (input_path is None) == (origin_name is None):
        raise UsageError("give either an INPUT file or --from PROVIDER, not both or neither")
    name = input_path.name if input_path else f"{origin_name}-to-{provider.name}"
    folder = input_path.parent if input_path else Path()
    target = _account(
        stack,
        provider,
        key=key,
        key_name=provider.env_key,
        base_url=options.get("base_url"),
        seed=options.get("sandbox_seed"),
        seed_option="--sandbox-seed",
        state=folder / f"{name}.{provider.name}.{SANDBOX_STATE}",
    )
    rate = resolve_rate_limit(provider, options.get("rate_limit"), options.get("account_plan"))
    known = options.get("rate_limit") is not None or options.get("account_plan") is not None
    if options.get("rate_limit_guess") is not None:
        if known:
            raise UsageError("--rate-limit-guess is for an unknown budget: drop --rate-limit")
        rate = float(options["rate_limit_guess"])
    ceiling = None if known else rate_ceiling(provider)
    settings = Settings(
        input=input_path or folder / f"{name}.source.csv",
        provider=provider,
        base_url=target.base_url,
        api_key=target.key,
        bound_url=target.bound_url,
        mapping=_mapping_option(options.get("mapping"))
        or (_direction_mapping(origin_name, provider) if origin_name else None),
        report=options.get("report") or folder / f"{name}.{provider.name}.report.csv",
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
        sandbox_seed=options.get("sandbox_seed"),
        sandbox_state=target.state,
        source=source or platform,
        invite=invite,
        statuses=_status_policy(options, migrating=origin_name is not None),
    )
    if settings.report is not None:
        report_format(settings.report)
    checkpoint = options.get("checkpoint") or folder / f"{name}.{provider.name}.checkpoint"
    settings = replace(settings, checkpoint=checkpoint)
    if origin_name is not None:
        # The snapshot of the source lives beside the checkpoint it feeds.
        settings = replace(settings, input=snapshot_path(checkpoint))
    reading: Settings | Reading | None = None
    if platform is not None:
        reading = resolve_reading(
            stack,
            platform,
            env,
            base_url=options.get("from_base_url"),
            seed=options.get("from_sandbox_seed"),
            rate_limit=options.get("from_rate_limit"),
            retry=settings.retry,
            timeout=settings.timeout,
            concurrency=default_concurrency,
        )
    if source is not None:
        if (
            source.name == provider.name
            and not options.get("from_key_env")
            and not (options.get("from_base_url") or options.get("base_url"))
        ):
            raise UsageError(
                f"--from {source.name} into {provider.name} needs the source account's key in "
                "another variable",
                hint="pass --from-key-env VARIABLE",
            )
        origin = _account(
            stack,
            source,
            key=SecretStr(source_key) if source_key else None,
            key_name=source_key_name,
            base_url=options.get("from_base_url"),
            seed=options.get("from_sandbox_seed"),
            seed_option="--from-sandbox-seed",
            state=folder / f"{name}.from-{source.name}.{SANDBOX_STATE}",
            url_option="--from-base-url",
        )
        source_rate = resolve_rate_limit(source, options.get("from_rate_limit"), None)
        source_known = options.get("from_rate_limit") is not None
        reading = replace(
            settings,
            provider=source,
            base_url=origin.base_url,
            api_key=origin.key,
            rate_limit=source_rate,
            rate_limit_known=source_known,
            rate_ceiling=None if source_known else rate_ceiling(source),
            concurrency=default_concurrency(source_rate),
            source=None,
        )
    return settings, reading, stack


def _status_policy(options: dict[str, Any], *, migrating: bool) -> StatusPolicy:
    """Who moves: a migration reads the neutral `status`; a file, the column it names."""
    column = NEUTRAL_STATUS if migrating else options.get("status_column")
    include = parse_statuses(options.get("include_status"))
    if include and column is None:
        raise UsageError(
            "--include-status needs a status: migrate with --from, or name the input's status "
            "column with --status-column"
        )
    return StatusPolicy(column=column, include=include)


def _direction_mapping(source: str, target: Provider) -> Path:
    """The pair's own mapping, else (for a source platform) the target's generic one."""
    path = migration_mapping(source, target.name)
    if path is None and source in PLATFORMS:
        path = migration_mapping("source", target.name)
    if path is None:
        raise UsageError(
            f"there is no mapping from {source} to {target.name}",
            hint="pass --mapping FILE over the columns of sync/neutral.py "
            "(`partner-sync mappings` lists the built-in ones)",
        )
    return path


def _mapping_option(given: Path | None) -> Path | None:
    """--mapping is a file, or the name of a built-in mapping (`partner-sync mappings`)."""
    if given is None or given.exists():
        return given
    builtin = builtin_mapping(str(given)) if given.parent == Path() else None
    return builtin.path if builtin else given
