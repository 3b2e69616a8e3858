"""The keyless trial behaves like an account: the built-in sandbox's partners and the checkpoint
outlive the run, so it resumes, shows its status and runs again the next night."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

from support.waiting import wait_until

from .conftest import (
    assert_resumed,
    cli_env,
    read_report,
    run_cli,
    start_cli,
    statuses,
    write_roster,
)

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
    wait_until(
        lambda: state.exists() and sum(sandbox_emails(state).values()) >= 3,
        "3 partners in the kept account",
        process=process,
    )
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    stopped = sum(sandbox_emails(state).values())
    assert 3 <= stopped < 120
    again = run_cli(["sync", str(roster), "-p", "dub", "--rate-limit", "6000"], env=KEYLESS)
    assert again.code == 0, again.output
    assert "resumed" in again.stdout or "resuming" in again.stderr
    report = tmp_path / "roster.csv.dub.report.csv"
    assert_resumed(report, again.stdout, rows=120, killed_at=stopped)
    assert sandbox_emails(state) == Counter(email.casefold() for email in emails)


def test_the_sandbox_warning_is_given_only_when_the_sandbox_is_used(tmp_path: Path):
    broken = tmp_path / "broken.csv"
    broken.write_text("name,country\nAnn,AT\n", encoding="utf-8")  # no email column
    for command in ("plan", "sync"):
        stopped = run_cli([command, str(broken), "-p", "dub"], env=KEYLESS)
        assert stopped.code == 3, stopped.output
        assert "built-in" not in stopped.stderr, stopped.stderr
    assert not list(tmp_path.glob("*.sandbox.json"))  # a run that stopped kept no account
    roster = tmp_path / "roster.csv"
    write_roster(roster, 2)
    used = run_cli(["plan", str(roster), "-p", "dub"], env=KEYLESS)
    assert used.code == 0, used.output
    assert used.stderr.count("DUB_API_KEY is not set: using the built-in dub sandbox") == 1


def _remote_ids(report: Path) -> dict[str, str]:
    lines = read_report(report)
    return {line["email"]: line["remote_id"] for line in lines if line["status"] == "exists"}


def test_a_keyless_plan_keeps_nothing_and_meets_the_partners_the_sync_then_meets(tmp_path: Path):
    roster, seed = tmp_path / "roster.csv", tmp_path / "existing.json"
    emails = write_roster(roster, 5)
    seed.write_text(json.dumps([{"email": email, "name": "Known"} for email in emails[:2]]))
    state = tmp_path / "roster.csv.dub.sandbox.json"
    seeded = ["-p", "dub", "--sandbox-seed", str(seed), "--rate-limit", "6000"]
    planned = run_cli(
        ["plan", str(roster), *seeded, "--report", str(tmp_path / "plan.csv")], env=KEYLESS
    )
    assert planned.code == 0 and "create 3" in planned.stdout and "exists 2" in planned.stdout
    assert not state.exists()  # plan changes nothing: no account file either
    # The sync from the same seed meets the very partners the plan met (same ids) and keeps them.
    synced = run_cli(["sync", str(roster), *seeded], env=KEYLESS)
    assert synced.code == 0, synced.output
    plan_ids = _remote_ids(tmp_path / "plan.csv")
    assert len(plan_ids) == 2 and plan_ids == _remote_ids(tmp_path / "roster.csv.dub.report.csv")
    kept = state.read_bytes()
    again = run_cli(
        ["plan", str(roster), "-p", "dub", "--report", str(tmp_path / "again.csv")], env=KEYLESS
    )
    assert again.code == 0 and "exists 5" in again.stdout, again.output
    assert state.read_bytes() == kept  # a plan reads the kept account and leaves it as it was


def test_a_keyless_migration_keeps_its_source_account_and_reads_the_same_partners_again(
    tmp_path: Path,
):
    seed = tmp_path / "affiliates.json"
    mine = [f"own{n}@example.com" for n in range(3)]
    seed.write_text(json.dumps([{"email": email, "state": "active"} for email in mine]))
    args = ["sync", "--from", "rewardful", "-p", "dub", "--rate-limit", "120", "--concurrency", "1"]
    process = start_cli([*args, "--from-sandbox-seed", str(seed)], env=KEYLESS, cwd=tmp_path)
    target = tmp_path / "rewardful-to-dub.dub.sandbox.json"
    source = tmp_path / "rewardful-to-dub.from-rewardful.sandbox.json"
    wait_until(
        lambda: target.exists() and bool(sandbox_emails(target)),
        "a partner in the kept target account",
        process=process,
    )
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, 130), stderr
    assert sandbox_emails(source) == Counter(mine)  # the source account outlives the run
    # Resumed (or run again from scratch), the migration reads the same source partners.
    for extra in ([], ["--restart"]):
        again = run_cli([*args, "--rate-limit", "6000", *extra], env=KEYLESS, cwd=tmp_path)
        assert again.code == 0, again.output
        assert sandbox_emails(target) == Counter(mine), again.output
    # From scratch, every source partner is already at the target: nothing more to create.
    assert "exists 3" in again.stdout and "created" not in again.stdout, again.output
