"""A migration's input: the snapshot of its source, whichever kind of account it is.

Both kinds (sync/sources/__init__.py) write the same provider-neutral CSV beside the
checkpoint, which binds the checkpoint like any input file. Rows are ordered by the source's
creation time (then id), so row numbers mean the same partner every time.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from sync.files import write_private
from sync.neutral import snapshot_csv
from sync.progress import Progress
from sync.sources import AccountSource
from sync.sources.file import InputFile
from sync.sources.table import Table

if TYPE_CHECKING:
    from sync.settings import Settings

log = structlog.get_logger(__name__)


async def write_snapshot(
    source: AccountSource,
    snapshot: Path,
    progress: Progress | None,
    calls: Counter[str] | None = None,
) -> int:
    """Write every partner of the source to `snapshot`; returns how many there are. The
    requests the reading made are added to `calls`."""
    rows = await source.read_partners(progress, Counter() if calls is None else calls)
    rows.sort(key=lambda row: (row["created_at"] or "", row["source_id"] or ""))
    write_private(snapshot, snapshot_csv(rows))
    log.info("snapshot written", source=source.name, partners=len(rows), snapshot=str(snapshot))
    return len(rows)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """A migration's rows (a `sync.sources.RowSource`): every partner of the source account,
    written to the snapshot file, then read as any input file is. An unfinished migration
    (`reuse`) reads the snapshot it wrote instead of listing the source again. `calls` holds
    the requests the reading made of the source account, by kind (none when it was reused)."""

    account: AccountSource
    path: Path
    encoding: str | None = None
    reuse: bool = False
    hashed: bool = True  # the snapshot's content hash is taken, for a checkpoint to bind to
    calls: Counter[str] = field(default_factory=Counter, compare=False, repr=False)

    async def read(self, progress: Progress | None = None) -> Table:
        if self.reuse and self.path.exists():
            log.info("reusing the snapshot of the source", snapshot=str(self.path))
        else:
            await write_snapshot(self.account, self.path, progress, self.calls)
        return await InputFile(self.path, self.encoding, self.hashed).read(progress)


def passing_snapshot(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    """The settings of a run that keeps no snapshot (`plan`, `verify`): one in a temporary
    folder, gone when `stack` closes."""
    if settings.source is None:
        return settings
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    return replace(settings, input=folder / "source.csv")
