"""Medians and peak memory, the two figures every benchmark here reports."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence
from pathlib import Path


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
