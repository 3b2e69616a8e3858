"""Keys and URLs as the user gives them: read from the environment and checked, never shown.

A key pasted wrongly, or a URL that would carry it unencrypted or holds credentials itself,
is refused before any request, with a message that never quotes the secret.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from sync.errors import ConfigError
from sync.registry import PLATFORMS, PROVIDERS
from sync.sources.platform import PlatformSource


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


def known_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Every key variable's value (trimmed, as sent), for redacting an error printed before
    or after the settings were resolved."""
    env = os.environ if env is None else env
    names = [cls.env_key for cls in PROVIDERS.values()]
    names += [name for source in PLATFORMS.values() for name in source.secret_env_keys]
    values = (env.get(name, "").strip() for name in names)
    return [value for value in values if value]
