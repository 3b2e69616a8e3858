"""The CLI as the tests run it: in this process through click's runner (the same code as the
command, without the second of a new interpreter importing polars, pydantic and httpx), or as
its own process where the test needs one (signals, kill -9, the installed entry point).

Every run's output is scanned for the API keys its environment held (`SCAN`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from click.testing import CliRunner

from sync.cli import cli

from .keyscan import SCAN

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@dataclass
class Run:
    """What one CLI run left behind."""

    code: int
    stdout: str
    stderr: str
    escaped: BaseException | None = None  # in this process: an exception that left the command
    peak_kib: int | None = None  # as its own process: its peak resident memory

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def keyless_environ() -> dict[str, str]:
    """This process's environment without any provider or platform key."""
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = 120,
    process: bool = False,
    cwd: Path = ROOT,
) -> Run:
    """`partner-sync ARGS` with exactly the environment `env`, in `cwd`.

    In this process unless `process`: an exception that escapes the command shows as it would
    from the real one, a traceback on stderr and exit 1.
    """
    SCAN.learn(env)
    if process:
        run = _run_process(args, env, timeout, cwd)
    else:
        run = _run_in_process(args, env, timeout, cwd)
    SCAN.scan(f"stdout of {args[0]}", run.stdout)
    SCAN.scan(f"stderr of {args[0]}", run.stderr)
    return run


def _run_process(args: Sequence[str], env: Mapping[str, str], timeout: float, cwd: Path) -> Run:
    command = [sys.executable, "-m", "sync", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
    assert process.stdout is not None and process.stderr is not None
    with process, ThreadPoolExecutor(2) as readers:
        stdout, stderr = readers.submit(process.stdout.read), readers.submit(process.stderr.read)
        peak_kib = _reap(process, timeout, command)
        return Run(process.returncode, stdout.result(), stderr.result(), peak_kib=peak_kib)


def _reap(process: subprocess.Popen[str], timeout: float, command: list[str]) -> int:
    """Wait for `process` to end and return its peak memory in KiB: reaped here, with its own
    resource usage (the peak of all of this process's children would mix other tests' in)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss
        if time.monotonic() > deadline:
            process.kill()
            process.returncode = os.waitstatus_to_exitcode(os.waitpid(process.pid, 0)[1])
            raise subprocess.TimeoutExpired(command, timeout)
        time.sleep(0.01)


def _run_in_process(args: Sequence[str], env: Mapping[str, str], timeout: float, cwd: Path) -> Run:
    # The runner sets variables for the run and restores them after; None removes one.
    changes: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    changes.update(env)
    try:
        with contextlib.chdir(cwd), _deadline(timeout):
            # Help laid out as for a process whose output is not a terminal: 80 columns, less
            # the 2 click keeps free.
            result = CliRunner().invoke(
                cli, list(args), env=changes, prog_name="partner-sync", terminal_width=78
            )
    finally:
        structlog.reset_defaults()  # the CLI configured logging to the runner's closed stream
    stderr, escaped = result.stderr, result.exception
    if escaped is not None and not isinstance(escaped, SystemExit):
        stderr += "".join(traceback.format_exception(escaped))
        return Run(result.exit_code, result.stdout, stderr, escaped)
    return Run(result.exit_code, result.stdout, stderr)


class RunTimedOut(Exception):
    """An in-process run took longer than its timeout."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """A hung run fails the test instead of the suite, as a subprocess's timeout would."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise RunTimedOut(f"the run took more than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ScannedProcess(subprocess.Popen[str]):
    """A CLI run in the background whose output is scanned for keys when collected."""

    def communicate(self, *args: Any, **kwargs: Any) -> tuple[str, str]:
        stdout, stderr = super().communicate(*args, **kwargs)
        SCAN.scan("stdout of a background run", stdout or "")
        SCAN.scan("stderr of a background run", stderr or "")
        return stdout, stderr


def start_cli(args: Sequence[str], env: Mapping[str, str], *, cwd: Path = ROOT) -> ScannedProcess:
    """`partner-sync ARGS` as its own process in the background, for signals and kills."""
    SCAN.learn(env)
    return ScannedProcess(
        [sys.executable, "-m", "sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
