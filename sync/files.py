"""Writing files that may hold personal data: atomically, readable by their owner only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def private_path(path: Path) -> Iterator[Path]:
    """A new temporary file beside `path`, readable by its owner only (0600), for the block to
    write (a writer that opens it by name keeps that mode); it becomes `path` by a rename when
    the block ends, all or nothing, and is removed when the block raises."""
    directory = path.parent if str(path.parent) else Path()
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # mode 0600
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_private(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8) to `path` through a temporary file and a rename (0600)."""
    with private_path(path) as temporary:
        temporary.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
