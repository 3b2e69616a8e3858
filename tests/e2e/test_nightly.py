"""Unattended runs: the nightly cost, the guards, and reruns after failures."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from support.waiting import wait_until

from sync.sandbox import Faults

from .conftest import email_counts, run_cli, start_cli, statuses, sync_args, write_roster


def args(sandbox, tmp_path: Path, roster: Path, *extra: str) -> list[str]:
    return sync_args(sandbox, tmp_path, roster, *extra, report="r.csv", rate_limit=None)


def test_nightly_run_costs_calls_in_proportion_to_what_is_new(make_sandbox, tmp_path: Path):
    existing = 10_000
    seed = [
        {"email": f"partner{n:06d}@example.com", "tenantId": f"crm-{n}"} for n in range(existing)
    ]
    sandbox = make_sandbox(seed=seed)
    roster = tmp_path / "roster.csv"

    # Night 1: the whole roster exists already; the tool lists once and remembers.
    write_roster(roster, existing)
    # Calls are counted, not timed: a budget of 100 a second keeps the test short.
    quick = ["--rate-limit", "6000"]
    first = run_cli(args(sandbox, tmp_path, roster, *quick), timeout=300)
    assert first.code == 0, first.output
    night1 = sum(sandbox.stats.requests.values())
    assert sandbox.stats.requests[("GET", "/partners")] == existing // 100 + 1  # a full scan

    # Meanwhile 5 of tomorrow's 50 new partners are added on the provider side.
    for n in range(existing, existing + 5):
        sandbox.add_partner({"email": f"partner{n:06d}@example.com", "tenantId": f"crm-{n}"})
    sandbox.reset_stats()

    # Night 2: the same file, 50 rows longer.
    write_roster(roster, existing + 50)
    second = run_cli(args(sandbox, tmp_path, roster, *quick), timeout=300)
    assert second.code == 0, second.output
    calls = sandbox.stats.requests
    night2 = sum(calls.values())
    print(f"\nnight 1: {night1} calls for {existing} rows; night 2: {night2} calls for 50 new rows")
    # count + at most two lookups per new row + a create per missing one; no listing.
    assert calls[("POST", "/partners")] == 45
    assert night2 <= 1 + 2 * 50 + 45
    rows = statuses(tmp_path / "r.csv")
    assert len(rows) == existing + 50
    assert sum(1 for s in rows.values() if s == "created") == 45
    assert sum(1 for s in rows.values() if s == "exists") == existing + 5
    assert max(email_counts(sandbox).values()) == 1


def test_max_creates_stops_before_anything_is_sent(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox()
    roster = tmp_path / "roster.csv"
    write_roster(roster, 30)
    result = run_cli(args(sandbox, tmp_path, roster, "--max-creates", "10"))
    assert result.code == 3, result.output
    assert "would create 30 partners, more than --max-creates 10" in result.stderr
    assert sandbox.stats.creates_committed == 0
    again = run_cli(args(sandbox, tmp_path, roster, "--max-creates", "30"))
    assert again.code == 0 and sandbox.stats.creates_committed == 30


def test_a_broken_export_stops_before_anything_is_sent(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox()
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name"])
        for n in range(20):  # an export whose email column slid into the name column
            writer.writerow(
                [f"Name {n}", f"p{n}@example.com"] if n % 2 else [f"p{n}@example.com", "N"]
            )
    result = run_cli(args(sandbox, tmp_path, roster))
    assert result.code == 3, result.output
    assert "10 of 20 rows are invalid (50%)" in result.stderr
    assert sandbox.stats.creates_committed == 0
    assert run_cli(args(sandbox, tmp_path, roster, "--max-invalid-share", "0.6")).code == 1


@pytest.mark.slow
def test_rerun_retries_transient_failures_but_never_resends_a_refusal(make_sandbox, tmp_path: Path):
    # 4 creates/s at first: 50 creates (12 s) are still to come when the provider starts failing.
    sandbox = make_sandbox(faults=Faults(latency=0.5))
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "tenantId", "groupId"])
        writer.writerow(["refused@example.com", "crm-x", "grp_does_not_exist"])  # Dub: 404, invalid
        for n in range(60):
            writer.writerow([f"p{n}@example.com", f"crm-{n}", ""])
    run_args = args(sandbox, tmp_path, roster, "--concurrency", "2", "--max-attempts", "2")
    process = start_cli(run_args)
    wait_until(lambda: sandbox.stats.creates_committed >= 10, "10 creates", process=process)
    sandbox.set_faults(Faults(error_before=1.0))  # the provider starts failing mid-run
    process.communicate(timeout=120)
    assert process.returncode == 1
    first = statuses(tmp_path / "r.csv")
    assert first[1] == "invalid"
    assert "failed" in set(first.values()) and len(first) == 61

    sandbox.set_faults(Faults())
    posts_before = sandbox.stats.requests[("POST", "/partners")]
    second = run_cli(run_args)
    rows = statuses(tmp_path / "r.csv")
    assert len(rows) == 61 and rows[1] == "invalid"
    # Each row is `created` by the run that created it; the rerun reports the first run's
    # creates as `exists` (created by an earlier run).
    again = {n: "exists" if first[n] == "created" else "created" for n in range(2, 62)}
    assert {n: rows[n] for n in range(2, 62)} == again, second.output
    assert second.code == 1  # the refused row still needs a person
    resent = sandbox.stats.requests[("POST", "/partners")] - posts_before
    assert resent == sum(1 for n in range(2, 62) if first[n] != "created")  # not the refused row
    assert max(email_counts(sandbox).values()) == 1

    # The next night, a grown file: the refused row is still not sent again.
    with roster.open("a", newline="") as handle:
        csv.writer(handle).writerow(["new@example.com", "crm-new", ""])
    posts_before = sandbox.stats.requests[("POST", "/partners")]
    third = run_cli(run_args)
    rows = statuses(tmp_path / "r.csv")
    assert rows[62] == "created" and rows[1] == "invalid" and "not sent again" in third.stdout
    assert sandbox.stats.requests[("POST", "/partners")] - posts_before == 1
