"""`partner-sync sandbox` from the command line: its help, a required key and a partner limit."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, cli_env, run_cli, write_roster

KEY = "dub_trial_4Rt8Yp2Wq6Zx9Lm3Nc7Vb"


@pytest.fixture
def served() -> Iterator[str]:
    """A Dub sandbox started by the CLI that takes one key and holds at most 3 partners."""
    command = [sys.executable, "-m", "sync", "sandbox", "-p", "dub", "--port", "0"]
    command += ["--api-key", KEY, "--partner-limit", "3", "--rate-limit", "0"]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "serving at " in line, line
    yield line.split("serving at ")[1].split()[0]
    process.terminate()
    process.wait(timeout=60)
    process.stderr.close()


def test_sandbox_help_shows_each_default_rate_limit_and_explains_every_option():
    result = run_cli(["sandbox", "--help"])
    assert result.code == 0
    for part in ("dub 1200", "partnero 600", "promotekit 200", "--api-key", "--partner-limit"):
        assert part in result.stdout
    for line in result.stdout.splitlines():
        if line.startswith("  --") and line.strip() != "--help":
            assert len(line.split(None, 2)) == 3 or "/" in line, f"no help: {line}"


def test_a_wrong_key_and_a_full_plan_are_refused_accounts(served: str, tmp_path: Path):
    roster = tmp_path / "roster.csv"
    write_roster(roster, 5)
    args = ["sync", str(roster), "-p", "dub", "--base-url", served, "--rate-limit", "1200"]
    # Exit 4 as the real process ends, as a cron job sees it.
    wrong = run_cli(args, env=cli_env("dub_wrong_8Hj3Kl5Mn7Pq9Rs2Tv4Wx"), process=True)
    assert wrong.code == 4, wrong.output
    full = run_cli([*args, "--restart"], env=cli_env(KEY))
    assert full.code == 4, full.output
    assert "partners limit of 3" in full.output
