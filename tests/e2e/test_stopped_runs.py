"""A run stopped after reading its input (a signal, a refused account, a guard) still writes
one report line per input row, and says what it did, what is left and how to go on."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from support.waiting import wait_until

from sync.sandbox import Faults

from .conftest import (
    assert_resumed,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    settled_commits,
    start_cli,
    sync_args,
    write_roster,
)


def _counts(report: Path) -> Counter[str]:
    return Counter(line["status"] for line in read_report(report))


def test_sigterm_mid_run_writes_every_row_and_the_partial_summary(make_sandbox, tmp_path: Path):
    # 5 creates/s while it is stopped: 55 creates (11 s) are still to come when SIGTERM lands.
    sandbox = make_sandbox(faults=Faults(latency=0.4))
    roster = tmp_path / "roster.csv"
    write_roster(roster, 60)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "2", report="r.csv")
    process = start_cli(args)
    wait_until(lambda: sandbox.stats.creates_committed >= 5, "5 creates", process=process)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    lines = read_report(tmp_path / "r.csv")
    assert [int(line["row"]) for line in lines] == list(range(1, 61))
    counts = _counts(tmp_path / "r.csv")
    assert set(counts) == {"created", "pending"}
    # A create in flight when the signal came may have landed: it is pending, looked up next.
    committed = sandbox.stats.creates_committed
    assert 3 <= committed - 2 <= counts["created"] <= committed
    assert f"created {counts['created']}, pending {counts['pending']}" in stdout
    assert "stopped early" in stdout and "run the same command again" in stdout
    pending = [line for line in lines if line["status"] == "pending"]
    assert all(
        line["email"] and "run the same command again" in line["message"] for line in pending
    )

    stopped_at = settled_commits(sandbox)
    sandbox.set_faults(Faults())
    resumed = run_cli(args)
    assert resumed.code == 0, resumed.output
    assert_resumed(tmp_path / "r.csv", resumed.stdout, rows=60, killed_at=stopped_at)
    assert sandbox.stats.creates_committed == 60


def test_a_partner_limit_stops_with_exit_4_and_a_complete_report(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(partners_limit=8)
    roster = tmp_path / "roster.csv"
    write_roster(roster, 30)
    run = run_cli(sync_args(sandbox, tmp_path, roster, "--concurrency", "1", report="r.csv"))
    assert run.code == 4, run.output
    counts = _counts(tmp_path / "r.csv")
    assert sum(counts.values()) == 30
    assert counts["created"] == len(sandbox.partners()) == 8
    assert counts["pending"] == 22
    assert "created 8, pending 22" in run.stdout and "stopped early" in run.stdout


def test_a_refused_key_still_reports_every_row(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox()
    roster = tmp_path / "roster.csv"
    write_roster(roster, 12)
    env = cli_env("dub_test_someoneElsesKey0000000000")
    for command in ("plan", "sync"):
        run = run_cli(
            sync_args(sandbox, tmp_path, roster, command=command, report=f"{command}.csv"),
            env=env,
        )
        assert run.code == 4, run.output
        assert _counts(tmp_path / f"{command}.csv") == {"pending": 12}
        assert "pending 12" in run.stdout
    assert email_counts(sandbox) == Counter()


def test_a_guard_reports_the_plan_with_nothing_sent(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox()
    roster = tmp_path / "roster.csv"
    write_roster(roster, 5)
    with roster.open("a", encoding="utf-8") as handle:
        handle.write("not-an-email,A,B,crm-x\n")
    run = run_cli(sync_args(sandbox, tmp_path, roster, "--max-creates", "2", report="r.csv"))
    assert run.code == 3, run.output
    lines = read_report(tmp_path / "r.csv")
    assert [line["status"] for line in lines] == ["pending"] * 5 + ["invalid"]
    assert lines[-1]["email"] == "not-an-email" and lines[-1]["tenant_id"] == "crm-x"
    assert all("not sent" in line["message"] for line in lines[:5])
    assert sandbox.stats.creates_committed == 0
