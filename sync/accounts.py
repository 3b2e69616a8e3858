"""How one account of a run is reached: at a URL with a key (both checked), or, given neither
key nor URL, as its built-in sandbox on this machine (served by the CLI once resolved).

The target and a migration's source are resolved by the same functions: a source's options are
the target's with `--from-` before them (`--from-base-url`, `--from-sandbox-seed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from sync.credentials import check_base_url, is_loopback_url, read_key
from sync.errors import ConfigError, UsageError
from sync.providers.base import Provider
from sync.sandbox.builtin import SANDBOX_KEY, BuiltIn, builtin_account

# The built-in sandbox's account, beside the input: INPUT.PROVIDER.sandbox.json (a migration's
# source: NAME.from-SOURCE.sandbox.json).
SANDBOX_STATE = "sandbox.json"
# What a migration's source puts before its options and its files' names.
FROM = "from-"


@dataclass(frozen=True, slots=True)
class Given:
    """What one command was given: its options and the environment; where its files live
    (beside the input, or a migration's in the working folder), and whether it writes its
    built-in sandbox accounts there (a sync does)."""

    options: Mapping[str, Any]
    env: Mapping[str, str]
    name: str
    folder: Path
    writes: bool

    def option(self, name: str, role: str = "") -> Any:
        """The option `name` (as click names it) of the account in `role` (FROM: the source)."""
        return self.options.get(role.replace("-", "_") + name)

    def state(self, platform: str, role: str = "") -> Path:
        """Where the built-in sandbox of this account keeps its partners."""
        return self.folder / f"{self.name}.{role}{platform}.{SANDBOX_STATE}"


def provider_account(
    given: Given, provider: Provider, key_name: str, role: str = ""
) -> tuple[str, SecretStr, BuiltIn | None]:
    """A provider account's URL and key; with neither key nor URL, its built-in sandbox (whose
    URL is known once it is served).

    Raises:
        UsageError: a sandbox seed beside a key or URL.
        ConfigError: the key or the URL cannot be used.
    """
    key = read_key(key_name, given.env)
    base_url, seed = given.option("base_url", role), given.option("sandbox_seed", role)
    if key is None and base_url is None:
        warning = (
            f"{key_name} is not set: using the built-in {provider.name} sandbox on this "
            "machine; nothing leaves it"
        )
        state = given.state(provider.name, role)
        builtin = builtin_account(state, provider.name, warning, seed=seed, writes=given.writes)
        return "", SecretStr(builtin.key), builtin
    url, key = remote_account(
        provider.default_base_url, given, key=key, key_name=key_name, role=role
    )
    return url, key, None


def remote_account(
    default_base_url: str, given: Given, *, key: SecretStr | None, key_name: str, role: str = ""
) -> tuple[str, SecretStr]:
    """An account reached with a key or at a URL: the URL, and the key (on loopback without
    one, the sandbox's placeholder).

    Raises:
        UsageError: a sandbox seed beside a key or URL.
        ConfigError: no key for a remote URL, or a URL that cannot be used.
    """
    if given.option("sandbox_seed", role) is not None:
        raise UsageError(
            f"--{role}sandbox-seed goes with the built-in sandbox (no API key, no URL)"
        )
    url = check_base_url(given.option("base_url", role) or default_base_url, f"--{role}base-url")
    if key is None:
        if not is_loopback_url(url):
            raise ConfigError(f"{key_name} is not set", hint=f"export {key_name}=...")
        key = SecretStr(SANDBOX_KEY)
    return url, key
