"""The files one run reads and writes: never two of them the same file, and every one it writes
writable, checked before the first request.

A report written over the input would replace the roster, and one written over the checkpoint
(or its log) would destroy the journal that keeps partners from being created twice. A report
that cannot be written would be found only after every create was sent.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sync.checkpoint_file import side_files
from sync.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from sync.settings import Settings

# A migration reads the source account into this file beside the checkpoint, its input.
SNAPSHOT_SUFFIX = ".source.csv"


@dataclass(frozen=True, slots=True)
class RunFile:
    """One file of a run: what it is (for messages), where, and whether the run writes it."""

    role: str
    path: Path
    written: bool


def snapshot_path(checkpoint: Path) -> Path:
    """Where a migration keeps its snapshot of the source account."""
    return checkpoint.with_name(checkpoint.name + SNAPSHOT_SUFFIX)


def run_files(settings: Settings, *, keeps_checkpoint: bool = True) -> list[RunFile]:
    """Every file the run reads or writes, or may write later (a checkpoint's side files).

    `plan` keeps no checkpoint, but its report must not land on the one a `sync` keeps.
    A file added to what a run keeps is one more line here."""
    migration = settings.source is not None
    files = [
        RunFile("the source snapshot" if migration else "the input", settings.input, migration),
        RunFile("the report", settings.report, True) if settings.report else None,
        RunFile("the mapping", settings.mapping, False) if settings.mapping else None,
    ]
    builtin = settings.builtin
    if builtin is not None:
        if builtin.seed is not None:
            files.append(RunFile("the sandbox seed", builtin.seed, False))
        files.append(RunFile("the built-in sandbox's account", builtin.state, builtin.writes))
    checkpoint = settings.checkpoint
    if checkpoint is not None:
        kept = keeps_checkpoint
        files.append(RunFile("the checkpoint", checkpoint, kept))
        files.extend(RunFile(role, path, kept) for role, path in side_files(checkpoint))
        if not migration:  # in a migration, the snapshot is the input above
            snapshot = snapshot_path(checkpoint)
            files.append(RunFile("the checkpoint's source snapshot", snapshot, kept))
    return [file for file in files if file is not None]


def check_run_files(files: Sequence[RunFile]) -> None:
    """Refuse a run whose files collide, or one that could not write its files.

    Raises:
        UsageError: two of the files are one (the message names both and the path).
        ConfigError: a file to write cannot be written there (missing directory, a path
            under a file, no permission, not a regular file); nothing is left behind.
    """
    refuse_collisions(files)
    for file in files:
        if file.written:
            _check_target(file)
    for directory, role in _directories(files):
        check_directory_writable(directory, role)


def refuse_collisions(files: Sequence[RunFile]) -> None:
    """Raise `UsageError` when two of `files` name one file (however the paths are spelled).

    Paths are compared resolved (relative or absolute, `./`, `..`, symbolic links), and two
    existing paths are also compared by identity, which catches hard links."""
    resolved = [_resolved(file.path) for file in files]
    for i, first in enumerate(files):
        for j in range(i + 1, len(files)):
            second = files[j]
            if resolved[i] == resolved[j] or _same_existing(first.path, second.path):
                raise UsageError(
                    f"{first.role} and {second.role} are the same file ({second.path}); "
                    "nothing was read or sent",
                    hint="give each its own path (--report, --checkpoint)",
                )


def check_directory_writable(directory: Path, role: str) -> None:
    """Create and remove a file in `directory`, or raise `ConfigError` saying why not.

    Trying is the only test that holds for root (who ignores permission bits but not a
    read-only mount or an immutable directory) and for every file system.

    Raises:
        ConfigError: the directory is missing, is a file, or cannot be written.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".partner-sync-check-", dir=directory)
    except FileNotFoundError:
        why = "the directory does not exist"
    except NotADirectoryError:
        why = "a part of the path is a file, not a directory"
    except OSError as exc:
        why = f"cannot create a file there: {exc.strerror}"
    else:
        os.close(fd)
        with contextlib.suppress(OSError):
            Path(probe).unlink()
        return
    raise ConfigError(
        f"cannot write {role} in {directory or Path()}: {why}; nothing was sent",
        hint="create the directory or choose another path",
    )


def _check_target(file: RunFile) -> None:
    """A file to write may be missing or a regular file: not a directory, device or pipe."""
    try:
        mode = file.path.stat().st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError:
        return  # found by the directory check, which says so
    except OSError as exc:
        raise ConfigError(f"cannot use {file.path} as {file.role}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"{file.path} ({file.role}) exists and is not a regular file; nothing was sent",
            hint="choose another path",
        )
    if not os.access(file.path, os.W_OK):
        raise ConfigError(
            f"{file.path} ({file.role}) is read-only; nothing was sent",
            hint="make it writable or choose another path",
        )


def _directories(files: Iterable[RunFile]) -> list[tuple[Path, str]]:
    """Each directory the run writes in, once, with the first file it writes there."""
    seen: dict[Path, str] = {}
    for file in files:
        if file.written:
            seen.setdefault(file.path.parent, file.role)
    return list(seen.items())


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compared as written
        return path.absolute()


def _same_existing(first: Path, second: Path) -> bool:
    try:
        return first.samefile(second)
    except OSError:
        return False  # one of them does not exist yet
