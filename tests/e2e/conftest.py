"""End-to-end fixtures: the real CLI, in a subprocess, against a sandbox over loopback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox import Faults, Sandbox, load_seed

from .keyscan import SCAN

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
# Looks like a real key so that a leak would be found by the byte scans.
DUB_KEY = "dub_test_5Kq9LmX2vR7tW3yZ8aB4cD6e"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_env(key: str | None = DUB_KEY, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    if key is not None:
        env["DUB_API_KEY"] = key
    env.update(extra)
    return env


def run_cli(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    env = env if env is not None else cli_env()
    SCAN.learn(env)
    completed = subprocess.run(
        [sys.executable, "-m", "sync", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    SCAN.scan(f"stdout of {args[0]}", completed.stdout)
    SCAN.scan(f"stderr of {args[0]}", completed.stderr)
    return Run(completed.returncode, completed.stdout, completed.stderr)


class ScannedProcess(subprocess.Popen[str]):
    """A CLI run in the background whose output is scanned for keys when collected."""

    def communicate(self, *args: Any, **kwargs: Any) -> tuple[str, str]:
        stdout, stderr = super().communicate(*args, **kwargs)
        SCAN.scan("stdout of a background run", stdout or "")
        SCAN.scan("stderr of a background run", stderr or "")
        return stdout, stderr


def start_cli(args: Sequence[str], *, env: dict[str, str] | None = None) -> ScannedProcess:
    env = env if env is not None else cli_env()
    SCAN.learn(env)
    return ScannedProcess(
        [sys.executable, "-m", "sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(autouse=True)
def _scan_written_files(tmp_path: Path) -> Iterator[None]:
    """After each end-to-end test, every file the tool wrote is scanned for keys."""
    given = {path for path in tmp_path.rglob("*") if path.is_file()}
    yield
    SCAN.scan_tree(tmp_path, skip=given)
    assert SCAN.leaks == [], SCAN.leaks


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def statuses(path: Path) -> dict[int, str]:
    return {int(line["row"]): line["status"] for line in read_report(path)}


def email_counts(sandbox: Sandbox) -> Counter[str]:
    return Counter(p["email"].strip().casefold() for p in sandbox.partners())


def write_roster(path: Path, count: int, *, start: int = 0) -> list[str]:
    emails = [f"partner{n:06d}@example.com" for n in range(start, start + count)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name", "tenant_id"])
        for n, email in zip(range(start, start + count), emails, strict=True):
            writer.writerow([email, f"First{n}", f"Last{n}", f"crm-{n}"])
    return emails


@pytest.fixture
def dub_sandbox() -> Iterator[Sandbox]:
    with Sandbox(
        "dub", api_key=DUB_KEY, seed=load_seed(SAMPLES / "dub_existing.json"), rate_limit=0
    ) as sandbox:
        yield sandbox


@pytest.fixture
def make_sandbox() -> Iterator[object]:
    started: list[Sandbox] = []

    def make(provider: str = "dub", *, faults: Faults | None = None, **options: object) -> Sandbox:
        options.setdefault("api_key", DUB_KEY)
        options.setdefault("rate_limit", 0)
        sandbox = Sandbox(provider, faults=faults, **options)  # type: ignore[arg-type]
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what the key scan of the end-to-end suite covered."""
    if SCAN.sources:
        terminalreporter.write_line(
            f"key scan: {SCAN.bytes_scanned:,} bytes in {SCAN.sources} outputs and files "
            f"scanned for {len(SCAN.keys)} API keys; keys found: {len(SCAN.leaks)}"
        )
