"""The sync end to end, for every provider: the real CLI against each sandbox over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from support.waiting import wait_until

from sync.account_lock import account_lock
from sync.registry import get_provider
from sync.sandbox import Faults, load_seed
from sync.settings import Settings

from .conftest import (
    CASES,
    PROVIDER_NAMES,
    SAMPLES,
    ScannedProcess,
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

ROSTERS = [
    *(pytest.param(name, "roster.csv", id=name) for name in PROVIDER_NAMES),
    # Reading Parquet is the reader's business: one provider is enough.
    pytest.param("dub", "roster.parquet", id="dub-parquet"),
]


@pytest.mark.parametrize(("provider", "roster"), ROSTERS)
def test_clean_run_accounts_for_every_row_and_creates_each_partner_once(
    make_sandbox, tmp_path: Path, provider: str, roster: str
):
    case = CASES[provider]
    sandbox = make_sandbox(provider, seed=load_seed(case.seed))
    seeded = len(sandbox.partners())
    env = cli_env(provider=provider)
    args = sync_args(sandbox, tmp_path, SAMPLES / roster)
    result = run_cli(args, env=env)
    assert result.code == 1, result.output  # invalid and conflicting rows are in the sample
    assert statuses(tmp_path / "report.csv") == case.expected
    created = case.count("created")
    assert sandbox.stats.creates_committed == created
    counts = email_counts(sandbox)
    assert max(counts.values()) == 1 and len(counts) == seeded + created
    assert f"created {created}" in result.stdout
    assert f"exists {case.count('exists')}" in result.stdout
    report = read_report(tmp_path / "report.csv")
    assert all(line["remote_id"] for line in report if line["status"] == "exists")
    created_ids = [line["remote_id"] for line in report if line["status"] == "created"]
    assert all(re.fullmatch(case.id_pattern, remote_id) for remote_id in created_ids), created_ids
    # A conflict says what it clashes with.
    assert all(line["message"] and line["field"] for line in report if line["status"] == "conflict")

    # The same command again: finished, nothing sent, the same outcomes, but the creates are
    # the first run's: `exists`, created by an earlier run, each with its partner's id.
    again = run_cli(args, env=env)
    assert again.code == 1
    assert statuses(tmp_path / "report.csv") == {
        row: "exists" if status == "created" else status for row, status in case.expected.items()
    }
    rerun = {int(line["row"]): line for line in read_report(tmp_path / "report.csv")}
    for line in report:
        if line["status"] == "created":
            again_line = rerun[int(line["row"])]
            assert again_line["remote_id"] == line["remote_id"]
            assert again_line["message"].startswith("created by an earlier run at ")
    assert sandbox.stats.creates_committed == created
    assert "resumed" in again.stdout and "nothing was sent to" in again.stdout
    assert f"created 0 this run ({created} by earlier runs)" in again.stdout

    # Starting over re-plans: everything created before now exists.
    fresh = run_cli([*args, "--restart"], env=env)
    rows = statuses(tmp_path / "report.csv")
    assert fresh.code == 1
    assert [row for row, status in rows.items() if status == "created"] == []
    assert (
        sum(1 for status in rows.values() if status == "exists") == case.count("exists") + created
    )
    assert sandbox.stats.creates_committed == created


def test_plan_sends_nothing_but_reads(case, seeded, tmp_path: Path):
    report = tmp_path / "plan.jsonl"
    args = sync_args(seeded, tmp_path, command="plan")
    args[args.index("--report") + 1] = str(report)
    result = run_cli(args, env=cli_env(provider=case.name))
    assert result.code == 1, result.output
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {line["row"]: line["status"] for line in lines} == case.planned
    assert seeded.stats.creates_committed == 0
    assert all(method == "GET" for method, _ in seeded.stats.requests)
    assert "scan" in result.stdout or "lookup" in result.stdout


FAULTS = {
    "5xx-before": Faults(error_before=0.25, seed=1),
    "5xx-after-commit": Faults(error_after=0.25, seed=2),
    "timeout-after-commit": Faults(timeout_after=0.2, stall=1.5, seed=3),
    "dropped": Faults(drop=0.15, drop_after=0.15, seed=4),
    "429-bursts": Faults(burst_429=0.1, burst_len=3, retry_after_seconds=0.5, seed=5),
    "garbage": Faults(malformed=0.2, html_error=0.1, seed=6),
    # Everything that does not commit a write, at once, gentler.
    "reads-mixed": Faults(
        error_before=0.1,
        burst_429=0.04,
        burst_len=2,
        retry_after_seconds=0.3,
        malformed=0.1,
        html_error=0.05,
        seed=7,
    ),
}
# Every fault for Dub; for the others, each write fault alone (exactly once is at stake) and
# the read faults together (the shared retry and rate-limit code, with each provider's bodies).
WRITE_FAULTS = ("5xx-after-commit", "timeout-after-commit", "dropped")
FAULT_CASES = [
    *(
        pytest.param("dub", FAULTS[name], id=f"dub-{name}")
        for name in FAULTS
        if name != "reads-mixed"
    ),
    *(
        pytest.param(provider, FAULTS[name], id=f"{provider}-{name}")
        for provider in PROVIDER_NAMES
        if provider != "dub"
        for name in (*WRITE_FAULTS, "reads-mixed")
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "faults"), FAULT_CASES)
def test_faults_never_duplicate_and_never_lose_a_row(
    make_sandbox, tmp_path: Path, provider: str, faults: Faults
):
    case = CASES[provider]
    sandbox = make_sandbox(case.name, faults=faults)
    roster = tmp_path / "in.csv"
    emails = write_roster(roster, 40)
    args = sync_args(sandbox, tmp_path, roster, "--timeout", "0.5")
    env = cli_env(provider=case.name)
    result = run_cli(args, env=env, timeout=240)
    rows = statuses(tmp_path / "report.csv")
    assert sorted(rows) == list(range(1, 41))
    if result.code != 0:  # a row may exhaust its retries; the next run finishes it
        assert set(rows.values()) <= {"created", "failed"}, result.output
        before = sandbox.stats.creates_committed
        result = run_cli(args, env=env, timeout=240)
        again = statuses(tmp_path / "report.csv")
        # The rerun creates only rows that had failed; the first run's creates are its own.
        created = {row for row, status in again.items() if status == "created"}
        assert created <= {row for row, status in rows.items() if status == "failed"}
        assert all(again[row] == "exists" for row, status in rows.items() if status == "created")
        assert len(created) == sandbox.stats.creates_committed - before
    else:
        assert set(rows.values()) == {"created"}
    assert result.code == 0, result.output
    lines = read_report(tmp_path / "report.csv")
    assert {line["status"] for line in lines} <= {"created", "exists"}
    assert all(
        line["message"].startswith("created by an earlier run at ")
        for line in lines
        if line["status"] == "exists"
    )
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert "Traceback" not in result.output
    assert sum(sandbox.stats.faults.values()) > 0  # the faults really happened


def test_kill_9_mid_run_then_the_same_command_finishes_exactly_once(
    case, make_sandbox, tmp_path: Path
):
    # Paced by latency and concurrency, not by a budget: about 32 creates/s while the run is
    # killed, so that 90 creates (3 s) are still to come when the kill lands, however loaded
    # the machine; the same command then finishes against a quicker provider.
    sandbox = make_sandbox(case.name, faults=Faults(latency=0.25))
    roster = tmp_path / "in.csv"
    emails = write_roster(roster, 120)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "8", "--rate-limit", "60000")
    env = cli_env(provider=case.name)
    process = start_cli(args, env=env)
    wait_until(lambda: sandbox.stats.creates_committed >= 30, "30 creates", process=process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    killed_at = settled_commits(sandbox)
    assert 30 <= killed_at < 120
    sandbox.set_faults(Faults(latency=0.05))
    result = run_cli(args, env=env)
    assert result.code == 0, result.output
    assert_resumed(tmp_path / "report.csv", result.stdout, rows=120, killed_at=killed_at)
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert sandbox.stats.creates_committed == 120


def test_a_rerun_of_a_finished_job_reports_nothing_created_this_run(
    case, make_sandbox, tmp_path: Path
):
    sandbox = make_sandbox(case.name)
    roster = tmp_path / "roster.csv"
    write_roster(roster, 20)
    env = cli_env(provider=case.name)
    first = run_cli(sync_args(sandbox, tmp_path, roster, report="first.csv"), env=env)
    assert first.code == 0, first.output
    assert "created 20" in first.stdout and "this run" not in first.stdout
    rerun = run_cli(sync_args(sandbox, tmp_path, roster, report="rerun.csv"), env=env)
    assert rerun.code == 0, rerun.output
    assert "exists 20; created 0 this run (20 by earlier runs)" in rerun.stdout
    calls = next(line for line in rerun.stdout.splitlines() if "API calls:" in line)
    assert "create" not in calls, calls  # nothing sent (a provider may be probed)
    lines = read_report(tmp_path / "rerun.csv")
    assert {line["status"] for line in lines} == {"exists"} and len(lines) == 20
    assert all(
        re.fullmatch(r"created by an earlier run at \d{4}-\d\d-\d\dT[\d:]{8}Z", line["message"])
        for line in lines
    )
    assert len(email_counts(sandbox)) == 20


def _racing_run(case, sandbox, tmp_path: Path, path: Path, runtime: Path) -> ScannedProcess:
    return start_cli(
        [
            "sync",
            str(path),
            "-p",
            case.name,
            "--base-url",
            sandbox.base_url,
            # Paced by latency: more creates would race between the two runs.
            "--rate-limit",
            "6000",
            "--checkpoint",
            str(tmp_path / f"{path.stem}.checkpoint"),
            "--report",
            str(tmp_path / f"{path.stem}.report.csv"),
        ],
        env=cli_env(provider=case.name, XDG_RUNTIME_DIR=str(runtime)),
    )


def test_two_runs_with_their_own_checkpoints_on_one_account_create_nobody_twice(
    case, make_sandbox, tmp_path: Path
):
    sandbox = make_sandbox(case.name, faults=Faults(latency=0.02))
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    write_roster(left, 60)
    write_roster(right, 60, start=30)  # 30 partners in both
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    runs = [_racing_run(case, sandbox, tmp_path, path, runtime) for path in (left, right)]
    answers = [(process.communicate(timeout=120), process.returncode) for process in runs]
    counts = email_counts(sandbox)
    assert max(counts.values()) == 1
    created = 0
    for path, ((stdout, stderr), code) in zip((left, right), answers, strict=True):
        report = tmp_path / f"{path.stem}.report.csv"
        if code == 3:  # the other run held the account: this one sent nothing
            assert "another partner-sync run is writing to this" in stderr, stderr
            assert not report.exists()
            continue
        assert code == 0, stdout + stderr
        rows = list(statuses(report).values())
        assert len(rows) == 60 and set(rows) <= {"created", "exists"}
        created += rows.count("created")
    # Every provider, Dub's upsert included: no partner is claimed by both runs.
    assert created == len(counts)


def _roster_and_lock_dir(
    case, sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int
) -> tuple[Path, Path, str]:
    """A roster of `rows`, the runs' own lock directory, and the account the lock is named by."""
    roster = tmp_path / "roster.csv"
    write_roster(roster, rows)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    account = Settings(
        input=roster,
        provider=get_provider(case.name),
        base_url=sandbox.base_url,
        api_key=SecretStr(case.key),
    ).account
    return roster, runtime, account


def test_a_second_run_on_a_busy_account_stops_at_once_naming_the_first(
    case, make_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    sandbox = make_sandbox(case.name)
    roster, runtime, account = _roster_and_lock_dir(case, sandbox, tmp_path, monkeypatch, 10)
    # This test holds the account as a running sync would, from before its first request.
    with account_lock(case.name, sandbox.base_url, account):
        refused = _racing_run(case, sandbox, tmp_path, roster, runtime)
        stdout, stderr = refused.communicate(timeout=60)
    assert refused.returncode == 3, stdout + stderr
    busy = f"another partner-sync run is writing to this {case.name} account (pid {os.getpid()}, "
    assert busy in stderr and "run again when it has finished" in stderr
    assert sandbox.partners() == []
    # Once the holder has finished, the account is free again.
    again = _racing_run(case, sandbox, tmp_path, roster, runtime)
    again.communicate(timeout=60)
    assert again.returncode == 0 and len(email_counts(sandbox)) == 10


def test_one_account_is_busy_however_its_base_url_is_written(
    make_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Partnero's documented base URL ends in /v1; the bare host is the same account.
    case = CASES["partnero"]
    sandbox = make_sandbox(case.name)
    roster, runtime, account = _roster_and_lock_dir(case, sandbox, tmp_path, monkeypatch, 5)
    args = sync_args(sandbox, tmp_path, roster)
    args[args.index("--base-url") + 1] = sandbox.base_url + "/v1/"
    env = cli_env(provider=case.name, XDG_RUNTIME_DIR=str(runtime))
    with account_lock(case.name, sandbox.base_url, account):
        refused = run_cli(args, env=env)
    assert refused.code == 3, refused.output
    assert "another partner-sync run is writing to this partnero account" in refused.stderr
    assert sandbox.partners() == []
    finished = run_cli(args, env=env)  # the same URL works once the account is free
    assert finished.code == 0 and len(email_counts(sandbox)) == 5, finished.output


@pytest.mark.slow
def test_the_api_key_appears_nowhere_the_tool_writes(case, seeded, tmp_path: Path):
    args = sync_args(seeded, tmp_path, SAMPLES / "roster.csv", "--verbose")
    # The real process: whatever it writes, up to its interpreter's last words at exit.
    result = run_cli(args, env=cli_env(provider=case.name), process=True)
    written = [result.stdout, result.stderr]
    written += [
        path.read_bytes().decode("utf-8", "replace")
        for path in tmp_path.iterdir()
        if path.is_file()
    ]
    assert all(case.key not in text for text in written)
    for name in ("report.csv", "run.checkpoint"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    # A refused key: exit 4, and the message does not repeat the key either.
    wrong = f"{case.name}_wrong_key_9f8e7d6c5b4a3928"
    refused = run_cli([*args, "--restart"], env=cli_env(key=wrong, provider=case.name))
    assert refused.code == 4, refused.output
    assert wrong not in refused.output and "401" in refused.stderr


BAD_FILES = {
    "latin-1": ("email,name\na@x.com,Zo\xeb\n".encode("latin-1"), [], "--encoding latin-1"),
    "mapped-column-missing": (
        b"mail,name\na@x.com,Zoe\n",
        ["--mapping", "MAP"],
        "'e-mail' (for email)",
    ),
    "empty": (b"", [], "is empty"),
}
# Reading a file is the reader's business: every provider meets the mapping case, Dub them all.
BAD_FILE_CASES = [
    pytest.param(provider, *BAD_FILES[name], id=f"{provider}-{name}")
    for provider in PROVIDER_NAMES
    for name in BAD_FILES
    if provider == "dub" or name == "mapped-column-missing"
]


@pytest.mark.parametrize(("provider", "data", "extra", "message"), BAD_FILE_CASES)
def test_bad_files_stop_before_any_request(
    make_sandbox, tmp_path: Path, provider: str, data, extra, message
):
    seeded = make_sandbox(provider)
    roster = tmp_path / "in.csv"
    roster.write_bytes(data)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fields.email]\ncolumn = "e-mail"\n')
    extra = [str(mapping) if arg == "MAP" else arg for arg in extra]
    result = run_cli(sync_args(seeded, tmp_path, roster, *extra), env=cli_env(provider=provider))
    assert result.code == 3, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert seeded.stats.total == 0


def test_the_readme_command_works_without_a_key(case, tmp_path: Path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes((SAMPLES / "roster.csv").read_bytes())
    result = run_cli(
        [
            "sync",
            str(roster),
            "--provider",
            case.name,
            "--sandbox-seed",
            str(case.seed),
            # Partnero's and PromoteKit's own budgets would make this test wait for seconds.
            "--rate-limit",
            "1200",
        ],
        env=cli_env(key=None, provider=case.name),
        process=True,  # the README's command as a user runs it
    )
    assert result.code == 1, result.output
    assert f"built-in {case.name} sandbox" in result.stderr
    assert statuses(tmp_path / f"roster.csv.{case.name}.report.csv") == case.expected
