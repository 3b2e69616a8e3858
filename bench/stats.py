"""Medians and peak memory, the two figures every benchmark here reports, and the run of a
measurement in a fresh process (whose peak is its own)."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """min..max, to show how noisy the repetitions were."""
    if not values:
        return "-"
    return f"{min(values):.3g}..{max(values):.3g}"


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB.

    Linux's VmHWM, not getrusage's ru_maxrss: a child process inherits its parent's ru_maxrss
    across fork and exec, so a small benchmark started by a big process would report the parent.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(module: str, args: Sequence[str], *, cwd: Path) -> dict[str, Any]:
    """Run `python -m module args` and return the JSON object its last line prints."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
