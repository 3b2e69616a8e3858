"""A migration's input: the snapshot of its source, whichever kind of account it is.

Both kinds (sync/sources/__init__.py) write the same provider-neutral CSV beside the
checkpoint, which binds the checkpoint like any input file. Rows are ordered by the source's
creation time (then id), so row numbers mean the same partner every time.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from sync.files import write_private
from sync.neutral import snapshot_csv
from sync.progress import Progress
from sync.sources import AccountSource

if TYPE_CHECKING:
    from sync.settings import Settings

log = structlog.get_logger(__name__)


async def write_snapshot(source: AccountSource, snapshot: Path, progress: Progress | None) -> int:
    """Write every partner of the source to `snapshot`; returns how many there are."""
    rows = await source.read_partners(progress)
    rows.sort(key=lambda row: (row["created_at"] or "", row["source_id"] or ""))
    write_private(snapshot, snapshot_csv(rows))
    log.info("snapshot written", source=source.name, partners=len(rows), snapshot=str(snapshot))
    return len(rows)


def to_read(
    source: AccountSource | None, snapshot: Path, *, resuming: bool
) -> AccountSource | None:
    """The source whose snapshot the run must write first: none for a file, and none for an
    unfinished migration (`resuming`) that has one: it resumes from its snapshot, not from a
    new listing."""
    if source is not None and resuming and snapshot.exists():
        log.info("reusing the snapshot of the source", snapshot=str(snapshot))
        return None
    return source


def passing_snapshot(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    """The settings of a run that keeps no snapshot (`plan`, `verify`): one in a temporary
    folder, gone when `stack` closes."""
    if settings.source is None:
        return settings
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    return replace(settings, input=folder / "source.csv")
