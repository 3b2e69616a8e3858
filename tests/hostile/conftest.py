"""Hostile-input fixtures: one Dub sandbox for the whole suite, and the CLI run two ways."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from sync.cli import cli
from sync.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
DUB_KEY = "dub_test_H0stileInputKey7Qz2"

# Partners that exist before every run: the corpus matches against them.
EXISTING = [
    {"email": "Existing.Partner@Example.com", "name": "Existing Partner", "tenantId": "crm-100"},
    {"email": "kim@example.org", "name": "Kim", "tenantId": "crm-200"},
]


@dataclass
class Run:
    """What one CLI run left behind."""

    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None  # an exception that escaped the CLI (in-process)


def plan_args(input_path: Path, sandbox: Sandbox, report: Path, *extra: str) -> list[str]:
    return [
        "plan",
        str(input_path),
        "--provider",
        "dub",
        "--base-url",
        sandbox.base_url,
        "--report",
        str(report),
        "--json-logs",
        *extra,
    ]


def run_in_process(args: Sequence[str]) -> Run:
    """The CLI through click's runner: the same code path as the command, without a new Python."""
    try:
        result = CliRunner().invoke(cli, list(args), env={"DUB_API_KEY": DUB_KEY})
    finally:
        structlog.reset_defaults()  # the CLI configured logging to the runner's closed stream
    escaped = None if isinstance(result.exception, SystemExit) else result.exception
    return Run(result.exit_code, result.stdout, result.stderr, escaped)


def run_subprocess(args: Sequence[str], *, timeout: float = 120) -> Run:
    """The real command in its own process, as a user or a cron job runs it."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["DUB_API_KEY"] = DUB_KEY
    completed = subprocess.run(
        [sys.executable, "-m", "sync", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="session")
def dub_sandbox() -> Iterator[Sandbox]:
    """One Dub sandbox for the suite: `plan` only reads, so runs cannot disturb each other."""
    with Sandbox("dub", api_key=DUB_KEY, seed=EXISTING, rate_limit=0) as sandbox:
        yield sandbox
    assert sandbox.internal_errors == []
