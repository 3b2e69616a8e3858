"""The machine a run of the benchmarks came from."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def describe() -> dict[str, str]:
    """nproc, CPU model, load, Python, polars, pydantic and httpx versions."""
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "load average at start": load_average(),
        "python": sys.version.split()[0],
        "polars": metadata.version("polars"),
        "pydantic": metadata.version("pydantic"),
        "httpx": metadata.version("httpx"),
        "platform": platform.platform(),
    }
