"""Survival under the worst conditions we can make here: kills at random moments, a provider
that goes away, rate-limit answers in every unit, and pages that shift during a scan."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from support.waiting import wait_until

from sync.sandbox import Faults

from .conftest import (
    PROVIDER_NAMES,
    assert_resumed,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    settled_commits,
    start_cli,
    statuses,
    sync_args,
    write_roster,
)


def provider_args(sandbox, tmp_path: Path, roster: Path, *extra: str) -> list[str]:
    return sync_args(sandbox, tmp_path, roster, *extra, report="r.csv", rate_limit="6000")


def args(sandbox, tmp_path: Path, roster: Path, *extra: str) -> list[str]:
    return sync_args(sandbox, tmp_path, roster, *extra, report="r.csv", rate_limit=None)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_duplicates_or_loses_a_row(make_sandbox, tmp_path: Path):
    """Kills land in listing (a 3,000-partner scan), planning and creating; each is followed by
    the same command, until one run finishes."""
    rng = random.Random(20261121)
    existing = 3000
    seed = [
        {"email": f"partner{n:06d}@example.com", "tenantId": f"crm-{n}"} for n in range(existing)
    ]
    sandbox = make_sandbox(seed=seed, faults=Faults(latency=0.02, jitter=0.01))
    roster = tmp_path / "roster.csv"
    emails = write_roster(roster, existing + 400)  # 400 new partners to create
    # 50 requests/s: the 31-page scan takes ~0.6 s and the creates ~8 s. Kill moments are set by
    # what the sandbox has seen, at random depths: start-up, mid-scan, then mid-create.
    run_args = args(sandbox, tmp_path, roster, "--concurrency", "6", "--rate-limit", "3000")
    moments = [("starting", rng.uniform(0.05, 0.4))]
    moments += [("listing", rng.randint(1, 25)) for _ in range(3)]
    moments += [("creating", rng.randint(3, 40)) for _ in range(8)]
    kills: list[str] = []
    for phase, depth in moments:
        creates, lists = (
            sandbox.stats.creates_committed,
            sandbox.stats.requests[("GET", "/partners")],
        )
        process = start_cli(run_args)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if phase == "starting":
                time.sleep(depth)
                break
            seen = (
                sandbox.stats.requests[("GET", "/partners")] - lists
                if phase == "listing"
                else sandbox.stats.creates_committed - creates
            )
            if seen >= depth:
                break
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills.append(f"{phase}@{depth:g}" if phase != "starting" else phase)
        process.communicate(timeout=60)
    killed_at = settled_commits(sandbox)
    process = start_cli(run_args)  # the last run goes to the end
    stdout, _ = process.communicate(timeout=180)
    print(f"\nkill -9 trials: {len(kills)} kills ({', '.join(kills)}), then a finishing run")
    assert process.returncode == 0
    # The finishing run created what the killed ones left; theirs are `exists`, created by an
    # earlier run, beside the 3,000 partners that were there before.
    lines = read_report(tmp_path / "r.csv")
    assert len(lines) == existing + 400
    earlier = [line for line in lines if line["message"].startswith("created by an earlier run")]
    assert len(earlier) == killed_at > 0 and {line["status"] for line in earlier} == {"exists"}
    rows = Counter(line["status"] for line in lines)
    assert rows == Counter(created=400 - killed_at, exists=existing + killed_at)
    assert f"created {400 - killed_at} this run ({killed_at} by earlier runs)" in stdout
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert len(kills) >= 10
    assert {kill.split("@")[0] for kill in kills} == {"starting", "listing", "creating"}


@pytest.mark.slow
def test_sigterm_stops_within_seconds_with_the_checkpoint_saved(make_sandbox, tmp_path: Path):
    # 4 creates/s while it runs: the 95 left when SIGTERM comes would take 24 s.
    sandbox = make_sandbox(faults=Faults(latency=1.0))
    roster = tmp_path / "roster.csv"
    write_roster(roster, 100)
    process = start_cli(args(sandbox, tmp_path, roster, "--concurrency", "4"))
    wait_until(lambda: sandbox.stats.creates_committed >= 5, "5 creates", process=process)
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    # It stopped, not finished: a loaded machine may take seconds to write the report.
    assert time.monotonic() - asked < 12
    assert process.returncode == 130 and "checkpoint saved" in stderr
    stopped_at = settled_commits(sandbox)
    sandbox.set_faults(Faults())
    resumed = run_cli(args(sandbox, tmp_path, roster))
    assert resumed.code == 0, resumed.output
    assert_resumed(tmp_path / "r.csv", resumed.stdout, rows=100, killed_at=stopped_at)
    assert sandbox.stats.creates_committed == 100


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDER_NAMES)
@pytest.mark.parametrize("unit", ["seconds", "epoch-seconds", "epoch-ms"])
def test_429_bursts_in_every_retry_after_unit(make_sandbox, tmp_path: Path, unit: str, provider):
    faults = Faults(burst_429=0.06, burst_len=2, retry_after=unit, retry_after_seconds=0.4, seed=9)
    sandbox = make_sandbox(provider, faults=faults)
    roster = tmp_path / "roster.csv"
    emails = write_roster(roster, 20)
    started = time.monotonic()
    result = run_cli(provider_args(sandbox, tmp_path, roster), env=cli_env(provider=provider))
    assert result.code == 0, result.output
    assert sandbox.stats.rate_limited > 0
    # Waits were read in the right unit: seconds, not decades (nor zero, which would spin).
    assert time.monotonic() - started < 120
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []


@pytest.mark.slow
def test_a_provider_down_for_a_minute_then_back(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox()
    roster = tmp_path / "roster.csv"
    emails = write_roster(roster, 30)
    sandbox.set_faults(Faults(down_for=60.0))
    result = run_cli(args(sandbox, tmp_path, roster), timeout=300)
    assert result.code == 0, result.output
    assert sandbox.stats.faults["down"] > 0
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert "Traceback" not in result.output


# The listing route of each provider, and a record as someone else would add it there.
LIST_ROUTE = {"dub": "/partners", "partnero": "/v1/partners", "promotekit": "/affiliates"}


def someone_elses(provider: str, n: int) -> dict[str, object]:
    email = f"partner{n:06d}@example.com"
    if provider == "dub":
        return {"email": email, "tenantId": f"crm-{n}"}
    if provider == "partnero":
        return {"email": email, "id": f"crm-{n}"}
    return {"email": email, "first_name": f"First{n}", "last_name": f"Last{n}"}


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_partners_added_during_a_full_scan(make_sandbox, tmp_path: Path, provider: str):
    """Someone adds partners while the tool pages through the listing (at its start for Dub
    and Partnero, which list oldest first; PromoteKit lists newest first, so every addition
    shifts every later page)."""
    existing = 2000
    seed = [someone_elses(provider, n) for n in range(existing)]
    sandbox = make_sandbox(provider, seed=seed, faults=Faults(latency=0.03))
    roster = tmp_path / "roster.csv"
    emails = write_roster(roster, existing + 200)  # 200 new; 100 of them arrive mid-scan
    route = ("GET", LIST_ROUTE[provider])
    stop = threading.Event()

    def other_party() -> None:
        n = existing
        while not stop.is_set() and n < existing + 100:
            if sandbox.stats.requests[route] > 2:
                sandbox.add_partner(someone_elses(provider, n))
                n += 1
            time.sleep(0.002)

    thread = threading.Thread(target=other_party)
    thread.start()
    try:
        result = run_cli(
            provider_args(sandbox, tmp_path, roster, "--concurrency", "4"),
            env=cli_env(provider=provider),
        )
    finally:
        stop.set()
        thread.join()
    assert result.code == 0, result.output
    assert sandbox.stats.requests[route] > 10  # it was a scan
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    rows = statuses(tmp_path / "r.csv")
    assert len(rows) == existing + 200 and set(rows.values()) == {"created", "exists"}
