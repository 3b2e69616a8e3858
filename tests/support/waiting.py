"""Waiting for a condition instead of for a guessed number of seconds.

A loaded 2-core machine makes every step slower by an unknown factor: tests wait for what they
need to have happened (the sandbox's own counts, a file on disk) and give up only after a
deadline meant to catch a hang, never to measure speed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

HANG = 120.0  # seconds: longer than anything here takes on a loaded machine


def wait_until(
    condition: Callable[[], bool],
    what: str,
    *,
    timeout: float = HANG,
    process: subprocess.Popen[Any] | None = None,
) -> None:
    """Return once `condition()` holds; fail naming `what` after `timeout` seconds, or as soon
    as `process` (the run being watched) has ended without it."""
    deadline = time.monotonic() + timeout
    while True:
        # Seen ended before the condition is read: what it did before it ended counts.
        ended = process is not None and process.poll() is not None
        if condition():
            return
        if ended:
            raise AssertionError(f"the run ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:g} s for {what}")
        time.sleep(0.01)
