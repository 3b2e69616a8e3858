"""The keyless trial behaves like an account: the built-in sandbox's partners and the checkpoint
outlive the run, so it resumes, shows its status and runs again the next night."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

from .conftest import cli_env, run_cli, start_cli, statuses, write_roster

KEYLESS = cli_env(key=None)


def sandbox_emails(state: Path) -> Counter[str]:
    partners = json.loads(state.read_text(encoding="utf-8"))["partners"]
    return Counter(partner["email"].casefold() for partner in partners)


def test_a_keyless_sync_is_kept_and_the_next_night_creates_only_new_rows(tmp_path: Path):
    roster = tmp_path / "roster.csv"
    state = tmp_path / "roster.csv.dub.sandbox.json"
    write_roster(roster, 20)
    args = ["sync", str(roster), "-p", "dub", "--rate-limit", "1200"]
    first = run_cli(args, env=KEYLESS)
    assert first.code == 0, first.output
    assert sum(sandbox_emails(state).values()) == 20
    # plan sees what sync created, in the same sandbox account.
    planned = run_cli(["plan", str(roster), "-p", "dub"], env=KEYLESS)
    assert planned.code == 0 and "exists 20" in planned.stdout, planned.output
    status = run_cli(["status", "--checkpoint", f"{roster}.dub.checkpoint"])
    assert status.code == 0 and "20/20 rows settled (finished)" in status.stdout, status.output
    # The second night: the same command over a grown file creates only the new rows.
    write_roster(roster, 25)
    second = run_cli(args, env=KEYLESS)
    assert second.code == 0, second.output
    report = statuses(tmp_path / "roster.csv.dub.report.csv")
    assert Counter(report.values()) == {"exists": 20, "created": 5}
    assert sandbox_emails(state) == Counter({email.casefold(): 1 for email in write_roster(
        tmp_path / "again.csv", 25)})  # fmt: skip


def test_a_stopped_keyless_sync_resumes_and_creates_nobody_twice(tmp_path: Path):
    roster = tmp_path / "roster.csv"
    state = tmp_path / "roster.csv.dub.sandbox.json"
    emails = write_roster(roster, 120)
    # 2 requests a second: the run lasts a minute unless stopped.
    args = ["sync", str(roster), "-p", "dub", "--rate-limit", "120", "--concurrency", "2"]
    process = start_cli(args, env=KEYLESS)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists() and sum(sandbox_emails(state).values()) >= 3:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    stopped = sum(sandbox_emails(state).values())
    assert 3 <= stopped < 120
    again = run_cli(["sync", str(roster), "-p", "dub", "--rate-limit", "6000"], env=KEYLESS)
    assert again.code == 0, again.output
    assert "resumed" in again.stdout or "resuming" in again.stderr
    assert sandbox_emails(state) == Counter(email.casefold() for email in emails)
