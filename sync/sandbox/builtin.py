"""The built-in sandbox: what a run without an API key talks to, and its account kept in a file
so that a keyless trial behaves like an account.

`serve_builtins` is the one place a run starts it (the CLI calls it once the settings are
resolved and the run's files checked). The account file (`INPUT.PROVIDER.sandbox.json` beside
the input; a migration's source: `NAME.from-SOURCE.sandbox.json`) holds the sandbox's partners
and an account id made when the file was. A run starts the sandbox from it and, once the
sandbox is first used (a run stopped by a bad file never uses it, and says nothing of it),
writes it back through a temporary file and a rename: after every change (at most every
`SAVE_EVERY` seconds) and when the run ends, Ctrl-C and SIGTERM included. Only a `sync` writes
it (a migration's source account too, so that a resumed or repeated migration reads the same
partners); `plan` and `verify` change nothing: they read the kept account, or serve a new one
in memory, made from the seed as the sync will make it (same partners, same ids). A seed
fills a new account only; to start over, delete the file.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from sync.errors import ConfigError
from sync.files import write_private
from sync.sandbox.seed import load_seed
from sync.sandbox.server import Sandbox

if TYPE_CHECKING:
    from sync.settings import Settings

log = structlog.get_logger("partner-sync")

FORMAT = 1
SAVE_EVERY = 0.2  # seconds between two writes of a changing account
# The built-in sandbox accepts one key; this prefix says what it is wherever it shows.
SANDBOX_KEY = "sandbox-key-not-secret"


@dataclass(frozen=True, slots=True)
class BuiltIn:
    """A built-in sandbox account a run serves on loopback, because no key is set."""

    platform: str  # the provider or source platform it emulates
    state: Path  # the account file it is kept in
    seed: Path | None  # partners a new account starts with (--sandbox-seed)
    account: str  # the account's id: the kept one, or the new one's
    key: str  # the only key it accepts
    kept: bool  # the account file exists already
    # Kept in `state` by a sync; a plan or verify reads the kept one or serves a new one in
    # memory: they change nothing, and a sync from the same seed meets the same partners.
    writes: bool
    warning: str  # said once, when the run first uses it
    sample: Path | None = None  # a source platform's partners when no seed is given
    # A source platform's: nothing changes its partners, so it keeps the records it was made
    # from, which make the same account (same ids) every time.
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    """What the state file holds."""

    account: str
    partners: list[dict[str, Any]]


def read_state(path: Path, provider: str) -> Stored | None:
    """The stored account, or None when there is no file yet.

    Raises:
        ValueError: the file is not a sandbox state of this provider.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a sandbox state file ({exc})") from None
    if not isinstance(document, dict) or document.get("provider") != provider:
        raise ValueError(f"{path} is not the state of a built-in {provider} sandbox")
    return Stored(account=str(document["account"]), partners=list(document["partners"]))


def write_state(path: Path, provider: str, stored: Stored) -> None:
    document = {
        "format": FORMAT,
        "provider": provider,
        "account": stored.account,
        "partners": stored.partners,
    }
    write_private(path, json.dumps(document, ensure_ascii=False))


def builtin_account(
    state: Path,
    platform: str,
    warning: str,
    *,
    seed: Path | None,
    writes: bool,
    key: str | None = None,
    sample: Path | None = None,
) -> BuiltIn:
    """The built-in sandbox's account kept in `state`; unless `key` is given, the key names
    the account (the prefix and the account's id).

    Raises:
        ConfigError: `state` is not this platform's account file.
    """
    try:
        stored = read_state(state, platform)
    except ValueError as exc:
        raise ConfigError(str(exc), hint=f"delete {state} to start a new sandbox account") from None
    account = stored.account if stored is not None else secrets.token_hex(8)
    return BuiltIn(
        platform=platform,
        state=state,
        seed=seed,
        account=account,
        key=key or f"{SANDBOX_KEY}-{account}",
        kept=stored is not None,
        writes=writes,
        warning=warning,
        sample=sample,
        read_only=sample is not None,
    )


def serve_builtins(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    """Start the built-in sandbox of each keyless account of the run (the target, a migration's
    source), for as long as `stack` is open; returns the settings with their URLs."""
    source = settings.source
    if source is not None and source.builtin is not None:
        served_source = stack.enter_context(_serve(source.builtin))
        settings = replace(settings, source=source.at(served_source.base_url))
    if settings.builtin is not None:
        served = stack.enter_context(_serve(settings.builtin))
        settings = replace(settings, base_url=served.base_url)
    return settings


@contextlib.contextmanager
def _serve(builtin: BuiltIn) -> Iterator[Sandbox]:
    """Serve the account kept in `builtin.state` (a new one from its seed if there is none)."""
    stored = read_state(builtin.state, builtin.platform)
    if stored is None:
        stored = Stored(account=builtin.account, partners=[])
        seed = builtin.seed or builtin.sample
        partners = load_seed(seed) if seed is not None else None
    else:
        partners = stored.partners
        if builtin.seed is not None:
            log.info(
                "the sandbox account exists: the seed only fills a new one",
                state=str(builtin.state),
            )
    used = threading.Event()
    sandbox = Sandbox(
        builtin.platform,
        seed=partners or None,
        api_key=builtin.key,
        # A read-only account is made again from its records, as the first time.
        restored=bool(stored.partners) and not builtin.read_only,
        on_first_request=lambda: first_use(),
    )
    made_from = list(partners or [])

    def save() -> None:
        records = made_from if builtin.read_only else sandbox.stored_partners()
        write_state(builtin.state, builtin.platform, Stored(stored.account, records))

    def first_use() -> None:
        log.warning(builtin.warning, sandbox=sandbox.base_url, state=str(builtin.state))
        if builtin.writes:
            save()
        used.set()

    with sandbox, _kept(sandbox, save, used, builtin.writes):
        yield sandbox


@contextlib.contextmanager
def _kept(
    sandbox: Sandbox, save: Callable[[], None], used: threading.Event, writes: bool
) -> Iterator[None]:
    """While the run goes on, write the account after each change; and once more at the end."""
    if not writes:
        yield
        return
    done = threading.Event()

    def keep_saving() -> None:
        saved = -1
        while not done.wait(SAVE_EVERY):
            changes = sandbox.stats.creates_committed
            if used.is_set() and changes != saved:
                save()
                saved = changes

    saver = threading.Thread(target=keep_saving, name="sandbox-state", daemon=True)
    saver.start()
    try:
        yield
    finally:
        done.set()
        saver.join(timeout=5)
        if used.is_set():
            save()
