"""The built-in sandbox's account kept in a file, so that a keyless trial behaves like an account.

The file (`INPUT.PROVIDER.sandbox.json` beside the input) holds the sandbox's partners and an
account id made when the file was. A run starts the sandbox from it and writes it back, through
a temporary file and a rename, after every change (at most every `SAVE_EVERY` seconds) and when
the run ends, Ctrl-C and SIGTERM included. A seed fills a new account only; to start over,
delete the file.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.files import write_private
from sync.sandbox.server import Sandbox

FORMAT = 1
SAVE_EVERY = 0.2  # seconds between two writes of a changing account


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


@contextlib.contextmanager
def persistent_sandbox(
    provider: str,
    path: Path,
    *,
    seed: Sequence[Mapping[str, Any]] | None,
    key_prefix: str,
) -> Iterator[tuple[Sandbox, str]]:
    """Serve the account stored at `path` (a new one from `seed` if there is none); yields the
    sandbox and the only key it accepts, which names the account (`key_prefix` + its id)."""
    stored = read_state(path, provider)
    if stored is None:
        stored = Stored(account=secrets.token_hex(8), partners=[])
        partners: Sequence[Mapping[str, Any]] | None = seed
    else:
        partners = stored.partners
    key = f"{key_prefix}-{stored.account}"
    sandbox = Sandbox(provider, seed=partners or None, api_key=key, restored=stored.partners != [])
    done = threading.Event()

    def save() -> None:
        write_state(path, provider, Stored(stored.account, sandbox.stored_partners()))

    def keep_saving() -> None:
        saved = -1
        while not done.wait(SAVE_EVERY):
            changes = sandbox.stats.creates_committed
            if changes != saved:
                save()
                saved = changes

    with sandbox:
        save()
        saver = threading.Thread(target=keep_saving, name="sandbox-state", daemon=True)
        saver.start()
        try:
            yield sandbox, key
        finally:
            done.set()
            saver.join(timeout=5)
            save()
