"""Medians and peak memory, the two figures every benchmark here reports, and the run of a
measurement in a fresh process (whose peak is its own)."""

from __future__ import annotations

import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
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


def polars_alone_seconds(source: Path, copy: Path) -> float:
    """What polars alone takes to read the CSV `source` and write it back to `copy`: the
    machine's own pace at this work, which the goals' ratios divide by."""
    import polars as pl  # here, not at the top: a process that starts others stays small

    started = time.perf_counter()
    pl.read_csv(source).write_csv(copy)
    return time.perf_counter() - started


def as_installed(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a measured process that loads its modules as an installed command does: from
    compiled bytecode (`compile_bytecode`). pip compiles a package's modules when it installs
    them; with PYTHONDONTWRITEBYTECODE set, and no caches, every start would compile polars,
    httpx and the rest from source again: seconds that no installed command spends."""
    return {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}


@functools.cache
def compile_bytecode(root: Path) -> None:
    """Compile the installed libraries and the package under `root`, as pip does at install
    (once per benchmark process; compileall skips what is compiled already)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *paths, str(root / "sync")],
        env=as_installed(os.environ),
        stdout=subprocess.DEVNULL,
        check=False,  # a library file that does not compile is only not cached
    )


def in_fresh_process(module: str, args: Sequence[str], *, cwd: Path) -> dict[str, Any]:
    """Run `python -m module args`, its modules compiled as installed, and return the JSON
    object its last line prints."""
    compile_bytecode(cwd)
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=as_installed(os.environ),
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
