"""Running the real CLI, in a subprocess, against a sandbox served by this process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import as_installed, compile_bytecode
from sync.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
KEY = "dub_bench_0000000000000000000000"  # any well-formed key: the sandbox accepts it


@dataclass
class CliRun:
    """One finished CLI run: its exit code, output, wall time and the calls it reported."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def line(self, prefix: str) -> str:
        """The summary line that starts with `prefix`, or ""."""
        for line in self.stdout.splitlines():
            if line.strip().startswith(prefix):
                return line.strip()
        return ""


def environment() -> dict[str, str]:
    """The CLI's environment: the sandbox's key only, modules loaded as installed."""
    compile_bytecode(ROOT)
    env = {name: value for name, value in os.environ.items() if not name.endswith("_API_KEY")}
    env["DUB_API_KEY"] = KEY
    return as_installed(env)


def run_cli(args: Sequence[str], *, timeout: float = 3600) -> CliRun:
    """`partner-sync ARGS`, as a user runs it (a separate process, its own interpreter)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "sync", *args],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    run = CliRun(
        code=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        seconds=time.perf_counter() - started,
    )
    run.calls = _calls(run.line("API calls:"))
    if run.code not in (0, 1):
        raise RuntimeError(f"partner-sync exited {run.code}:\n{run.stdout}\n{run.stderr[-2000:]}")
    return run


def sync_args(
    sandbox: Sandbox, roster: Path, workdir: Path, *extra: str, command: str = "sync"
) -> list[str]:
    args = [
        command,
        str(roster),
        "--provider",
        "dub",
        "--base-url",
        sandbox.base_url,
        "--report",
        str(workdir / f"{roster.stem}.report.csv"),
        "--json-logs",
        *extra,
    ]
    if command == "sync":
        args += ["--checkpoint", str(workdir / f"{roster.stem}.checkpoint")]
    return args


def _calls(line: str) -> dict[str, int]:
    """{"create": 50000, "list": 1, ...} from "API calls: 50002 (count 1, create 50000, ...)"."""
    return {kind: int(count) for kind, count in re.findall(r"(\w+) (\d+)", line.partition("(")[2])}


def routes(sandbox: Sandbox) -> dict[str, int]:
    """Requests the sandbox answered, by "METHOD /route"."""
    return {f"{method} {route}": n for (method, route), n in sandbox.stats.requests.items()}
