"""One writing run per provider account on this machine: an advisory lock taken before the
first request.

Two runs with their own checkpoints on one account (two cron lines, one roster) would each
plan the same missing partners and each report them `created`: a provider whose create is an
upsert (Dub) answers both alike. The lock is a file in a per-user directory, named by a hash of
provider, the base URL's server and the account's fingerprint (never the key); the holder writes
its pid and start time into it so that the refused run can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from sync.errors import ConfigError

_FOLDER = "partner-sync-locks"


def lock_folder() -> Path:
    """Where account locks live: the user's runtime directory, else a per-user temp folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / _FOLDER
    return Path(tempfile.gettempdir()) / f"{_FOLDER}-{os.getuid()}"


def lock_path(provider: str, base_url: str, account: str) -> Path:
    where = _host_of(base_url)
    digest = hashlib.sha256(f"{provider}\n{where}\n{account}".encode()).hexdigest()[:24]
    return lock_folder() / f"{provider}-{digest}.lock"


def _host_of(base_url: str) -> str:
    """The server a base URL names: one account answers at every path of it (Partnero's
    documented `https://api.partnero.com/v1` and the bare host are one account), and host
    names are case-insensitive. Anything that is not a URL (the built-in sandbox) is itself."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        return base_url
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return base_url
    port = port or {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{parts.hostname}:{port}"


@contextlib.contextmanager
def account_lock(provider: str, base_url: str, account: str) -> Iterator[Path]:
    """Hold the account's lock for the block.

    Raises:
        ConfigError: another run holds it; the message names its pid and since when.
    """
    path = lock_path(provider, base_url, account)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot create the account lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _held(provider, os.pread(fd, 128, 0)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.strftime('%H:%M:%S')}\n".encode(), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def _held(provider: str, content: bytes) -> ConfigError:
    pid, _, since = content.decode("ascii", "replace").strip().partition(" ")
    holder = f" (pid {pid}, since {since})" if pid and since else ""
    return ConfigError(
        f"another partner-sync run is writing to this {provider} account{holder}; "
        "run again when it has finished",
        hint="nothing was sent",
    )
