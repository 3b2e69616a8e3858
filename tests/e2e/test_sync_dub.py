"""Dub-only behaviour end to end: its lookups by email and tenantId, and what does not depend on
the provider (signals, the checkpoint lock, usage errors), tried once."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from support.waiting import wait_until

from sync.sandbox import Faults

from .conftest import (
    SAMPLES,
    email_counts,
    read_report,
    run_cli,
    start_cli,
    sync_args,
    write_roster,
)


def test_lookup_strategy_when_few_rows_meet_many_partners(make_sandbox, tmp_path: Path):
    seed = [{"email": f"old{n}@example.com", "tenantId": f"old-{n}"} for n in range(700)]
    sandbox = make_sandbox(seed=seed)
    roster = tmp_path / "in.csv"
    write_roster(roster, 3)
    result = run_cli(sync_args(sandbox, tmp_path, roster))
    assert result.code == 0, result.output
    # Each new row with a tenant id costs two lookups: 6 at most, against 8 list pages.
    assert "lookup (6 lookup call(s) at most <= 8 list page(s) for 700 partners)" in result.stdout
    calls = sandbox.stats.requests
    # count + one email lookup and one tenantId lookup per new row + creates; no listing.
    assert calls[("GET", "/partners")] == 6
    assert calls[("POST", "/partners")] == 3


def test_ctrl_c_saves_the_checkpoint_and_exits_130(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(faults=Faults(latency=0.1))
    roster = tmp_path / "in.csv"
    write_roster(roster, 200)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "4", "--rate-limit", "6000")
    process = start_cli(args)
    wait_until(lambda: sandbox.stats.creates_committed >= 10, "10 creates", process=process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "Traceback" not in stderr
    status = run_cli(["status", "--checkpoint", str(tmp_path / "run.checkpoint")])
    assert status.code == 0 and "/200 rows settled" in status.stdout
    result = run_cli(args)
    assert result.code == 0, result.output
    assert sandbox.stats.creates_committed == 200


def test_second_run_on_the_same_checkpoint_is_refused(make_sandbox, tmp_path: Path):
    # The provider is slow (20 creates/s at most) until the second run has been refused: 300
    # creates take the first run 15 s, long enough that the second starts while it runs.
    sandbox = make_sandbox(faults=Faults(latency=0.1))
    roster = tmp_path / "in.csv"
    write_roster(roster, 300)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "2", "--rate-limit", "60000")
    first = start_cli(args)
    wait_until(
        lambda: sandbox.stats.creates_committed >= 2, "the first run's creates", process=first
    )
    second = run_cli(args)
    assert first.poll() is None, "the first run ended before the second was tried"
    sandbox.set_faults(Faults())
    first.communicate(timeout=120)
    assert second.code == 3
    # The account lock, taken before the checkpoint's, refuses it first (the checkpoint's own
    # lock: tests/unit/test_checkpoint.py).
    assert "another partner-sync run is writing to this dub account (pid " in second.stderr
    assert first.returncode == 0
    assert max(email_counts(sandbox).values()) == 1


def test_usage_errors_exit_2(tmp_path: Path):
    assert run_cli(["sync", "in.csv"], process=True).code == 2  # as the real process ends
    assert run_cli(["sync", "in.csv", "-p", "nope"]).code == 2
    result = run_cli(
        ["sync", str(SAMPLES / "roster.csv"), "-p", "dub", "--report", str(tmp_path / "r.xlsx")]
    )
    assert result.code == 2 and ".csv or .jsonl" in result.stderr


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path):
    result = run_cli(
        ["plan", str(SAMPLES / "roster.csv"), "-p", "dub", "--base-url", "http://api.example.com"]
    )
    assert result.code == 3 and "unencrypted" in result.stderr


def test_a_groupid_refused_by_dub_is_that_rows_outcome(make_sandbox, tmp_path: Path):
    groups = [
        {"id": "grp_VIP", "slug": "vip"},
        {"id": "grp_THEIRS", "slug": "theirs", "programId": "prog_other"},
    ]
    sandbox = make_sandbox(groups=groups)
    roster = tmp_path / "in.csv"
    roster.write_text(
        "email,first_name,last_name,tenant_id,groupId\n"
        "a@example.com,Ann,Lee,crm-1,vip\n"
        "b@example.com,Bo,Ray,crm-2,grp_THEIRS\n"
        "c@example.com,Cy,Day,crm-3,gold\n"
        "d@example.com,Di,Fay,crm-4,\n",
        encoding="utf-8",
    )
    result = run_cli(sync_args(sandbox, tmp_path, roster))
    # Not an account refusal (exit 4): the run finishes, and two rows say why they failed.
    assert result.code == 1, result.output
    rows = {row["email"]: row for row in read_report(tmp_path / "report.csv")}
    assert rows["a@example.com"]["status"] == "created"
    assert rows["d@example.com"]["status"] == "created"
    theirs, unknown = rows["b@example.com"], rows["c@example.com"]
    assert theirs["status"] == unknown["status"] == "invalid"
    assert theirs["field"] == unknown["field"] == "groupId"
    assert 'Group "grp_THEIRS" not found in your program.' in theirs["message"]
    assert 'Group "gold" not found.' in unknown["message"]
    assert sorted(p["email"] for p in sandbox.partners()) == ["a@example.com", "d@example.com"]
    by_email = {p["email"]: p for p in sandbox.partners()}
    assert by_email["a@example.com"]["groupId"] == "grp_VIP"  # the slug named the group


def test_the_partner_limit_still_stops_the_run(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(partners_limit=2)
    roster = tmp_path / "in.csv"
    write_roster(roster, 4)
    result = run_cli(sync_args(sandbox, tmp_path, roster, "--concurrency", "1"))
    assert result.code == 4, result.output
    assert len(sandbox.partners()) == 2


def test_the_pace_line_never_shows_more_creates_than_the_budget(make_sandbox, tmp_path: Path):
    """A short run's creates span one interval fewer than their count: dividing all of them by
    the run's length showed 20.9/s against a 20.0/s budget."""
    sandbox = make_sandbox()
    roster = tmp_path / "in.csv"
    write_roster(roster, 15)
    result = run_cli(sync_args(sandbox, tmp_path, roster, "--rate-limit", "1200"))
    assert result.code == 0, result.output
    pace = re.search(r"creates: ([\d.]+)/s \(budget ([\d.]+) requests/s\)", result.stdout)
    assert pace is not None, result.stdout
    assert float(pace.group(1)) <= float(pace.group(2))
