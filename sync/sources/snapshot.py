"""A migration's input: the snapshot of its source, whichever kind of source it is.

A provider account (`--from dub|partnero|promotekit`) is read by the pipeline's scan and its
provider's `to_neutral`; a source platform (`--from rewardful|...`) by its `PlatformSource`.
Both write the same provider-neutral CSV, which binds the checkpoint like any input file.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from sync.pipeline import export_source
from sync.progress import Progress
from sync.settings import Settings
from sync.sources.platform import Reading, export_platform

log = structlog.get_logger(__name__)

SourceReading = Settings | Reading  # how a provider account, or a platform, is read


def reuse_snapshot(snapshot: Path, *, resuming: bool) -> bool:
    """Whether to keep the snapshot already written: an unfinished migration resumes from its
    snapshot, not from a new listing."""
    if resuming and snapshot.exists():
        log.info("reusing the snapshot of the source", snapshot=str(snapshot))
        return True
    return False


async def read_source(reading: SourceReading, snapshot: Path, progress: Progress | None) -> int:
    """Write the snapshot the migration runs on; returns how many partners the source has."""
    if isinstance(reading, Reading):
        return await export_platform(reading, snapshot)
    return await export_source(reading, snapshot, progress)
