"""The checkpoint's lock: one run at a time on a checkpoint, and a mark in the lock file that tells
the next run whether the last one stopped without closing (a crash, kill -9, a power cut)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sync.errors import ConfigError

# The lock file holds this while a run has the checkpoint open: found there by the next run,
# it says the last one stopped without closing (a crash, kill -9, a power cut).
IN_USE = b"in use\n"


def mark_lock(fd: int, content: bytes) -> bytes:
    """Replace what the lock file says (synced to disk); returns what it said before.

    Raises:
        ConfigError: the lock file cannot be written.
    """
    try:
        before = os.pread(fd, 64, 0)
        os.ftruncate(fd, 0)
        os.pwrite(fd, content, 0)
        os.fsync(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the checkpoint lock: {exc.strerror}") from None
    return before


def take_lock(path: Path) -> int:
    """Take the checkpoint's exclusive lock (its `.lock` file); returns the lock file's descriptor.

    Raises:
        ConfigError: another run holds the lock, or the lock file cannot be created.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the checkpoint lock {lock_path}: {exc.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"another partner-sync run is using checkpoint {path}",
            hint="wait for it to finish (`partner-sync status` shows its progress), "
            "or give this run another --checkpoint",
        ) from None
    return fd
