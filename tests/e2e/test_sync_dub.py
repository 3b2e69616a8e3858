"""The Dub sync end to end: the real CLI against the Dub sandbox over loopback."""

from __future__ import annotations

import json
import signal
import stat
import time
from pathlib import Path

import pytest

from sync.sandbox import Faults

from .conftest import (
    DUB_KEY,
    SAMPLES,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    start_cli,
    statuses,
    write_roster,
)

EXPECTED = {
    **dict.fromkeys([1, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 17, 26, 27], "created"),
    **dict.fromkeys([2, 9, 10, 16], "exists"),
    **dict.fromkeys([18, 19], "conflict"),
    **dict.fromkeys([20, 21], "duplicate"),
    **dict.fromkeys([22, 23, 24, 25], "invalid"),
}


def sync_args(sandbox, tmp_path: Path, input_path: Path = SAMPLES / "roster.csv", *extra: str):
    return [
        "sync",
        str(input_path),
        "--provider",
        "dub",
        "--base-url",
        sandbox.base_url,
        "--checkpoint",
        str(tmp_path / "run.checkpoint"),
        "--report",
        str(tmp_path / "report.csv"),
        *extra,
    ]


@pytest.mark.parametrize("roster", ["roster.csv", "roster.parquet"])
def test_clean_run_accounts_for_every_row_and_creates_each_partner_once(
    dub_sandbox, tmp_path: Path, roster: str
):
    result = run_cli(sync_args(dub_sandbox, tmp_path, SAMPLES / roster))
    assert result.code == 1, result.output  # invalid and conflicting rows are in the sample
    assert statuses(tmp_path / "report.csv") == EXPECTED
    assert dub_sandbox.stats.creates_committed == 15
    counts = email_counts(dub_sandbox)
    assert max(counts.values()) == 1 and len(counts) == 7 + 15
    assert "created 15" in result.stdout and "exists 4" in result.stdout
    report = read_report(tmp_path / "report.csv")
    created = [line for line in report if line["status"] == "created"]
    assert all(line["remote_id"].startswith("pn_") for line in created)
    conflict = next(line for line in report if line["row"] == "19")
    assert "pn_" in conflict["message"]

    # The same command again: finished, nothing sent twice, the same report.
    again = run_cli(sync_args(dub_sandbox, tmp_path, SAMPLES / roster))
    assert again.code == 1
    assert statuses(tmp_path / "report.csv") == EXPECTED
    assert dub_sandbox.stats.creates_committed == 15
    assert "resumed" in again.stdout

    # Starting over re-plans: everything created before now exists.
    fresh = run_cli(sync_args(dub_sandbox, tmp_path, SAMPLES / roster, "--restart"))
    rows = statuses(tmp_path / "report.csv")
    assert fresh.code == 1
    assert [row for row, status in rows.items() if status == "created"] == []
    assert sum(1 for status in rows.values() if status == "exists") == 4 + 15
    assert dub_sandbox.stats.creates_committed == 15


def test_plan_sends_nothing_but_reads(dub_sandbox, tmp_path: Path):
    report = tmp_path / "plan.jsonl"
    result = run_cli(
        [
            "plan",
            str(SAMPLES / "roster.csv"),
            "-p",
            "dub",
            "--base-url",
            dub_sandbox.base_url,
            "--report",
            str(report),
        ]
    )
    assert result.code == 1, result.output
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    planned = {line["row"]: line["status"] for line in lines}
    assert planned == {row: ("create" if s == "created" else s) for row, s in EXPECTED.items()}
    assert dub_sandbox.stats.creates_committed == 0
    assert all(method == "GET" for method, _ in dub_sandbox.stats.requests)
    assert "scan" in result.stdout or "lookup" in result.stdout


def test_lookup_strategy_when_few_rows_meet_many_partners(make_sandbox, tmp_path: Path):
    seed = [{"email": f"old{n}@example.com", "tenantId": f"old-{n}"} for n in range(450)]
    sandbox = make_sandbox(seed=seed)
    roster = tmp_path / "in.csv"
    write_roster(roster, 3)
    result = run_cli(sync_args(sandbox, tmp_path, roster))
    assert result.code == 0, result.output
    assert "lookup" in result.stdout
    calls = sandbox.stats.requests
    # count + one email lookup and one tenantId lookup per new row + creates; no listing.
    assert calls[("GET", "/partners")] == 6
    assert calls[("POST", "/partners")] == 3


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_before=0.25, seed=1),
        Faults(error_after=0.25, seed=2),
        Faults(timeout_after=0.2, stall=1.5, seed=3),
        Faults(drop=0.15, drop_after=0.15, seed=4),
        Faults(burst_429=0.1, burst_len=3, retry_after_seconds=0.5, seed=5),
        Faults(malformed=0.2, html_error=0.1, seed=6),
    ],
    ids=[
        "5xx-before",
        "5xx-after-commit",
        "timeout-after-commit",
        "dropped",
        "429-bursts",
        "garbage",
    ],
)
def test_faults_never_duplicate_and_never_lose_a_row(make_sandbox, tmp_path: Path, faults: Faults):
    sandbox = make_sandbox(faults=faults)
    roster = tmp_path / "in.csv"
    emails = write_roster(roster, 40)
    args = sync_args(sandbox, tmp_path, roster, "--timeout", "0.5")
    result = run_cli(args, timeout=240)
    rows = statuses(tmp_path / "report.csv")
    assert sorted(rows) == list(range(1, 41))
    if result.code != 0:  # a row may exhaust its retries; the next run finishes it
        assert set(rows.values()) <= {"created", "failed"}, result.output
        result = run_cli(args, timeout=240)
    assert result.code == 0, result.output
    assert set(statuses(tmp_path / "report.csv").values()) == {"created"}
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert "Traceback" not in result.output
    assert sum(sandbox.stats.faults.values()) > 0  # the faults really happened


def test_kill_9_mid_run_then_the_same_command_finishes_exactly_once(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(faults=Faults(latency=0.05))
    roster = tmp_path / "in.csv"
    emails = write_roster(roster, 120)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "8")
    process = start_cli(args)
    deadline = time.monotonic() + 60
    while sandbox.stats.creates_committed < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    killed_at = sandbox.stats.creates_committed
    assert 30 <= killed_at < 120
    result = run_cli(args)
    assert result.code == 0, result.output
    assert set(statuses(tmp_path / "report.csv").values()) == {"created"}
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert sandbox.stats.creates_committed == 120


def test_ctrl_c_saves_the_checkpoint_and_exits_130(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(faults=Faults(latency=0.1))
    roster = tmp_path / "in.csv"
    write_roster(roster, 200)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "4")
    process = start_cli(args)
    deadline = time.monotonic() + 60
    while sandbox.stats.creates_committed < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "Traceback" not in stderr
    status = run_cli(["status", "--checkpoint", str(tmp_path / "run.checkpoint")])
    assert status.code == 0 and "/200 rows settled" in status.stdout
    result = run_cli(args)
    assert result.code == 0, result.output
    assert sandbox.stats.creates_committed == 200


def test_second_run_on_the_same_checkpoint_is_refused(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(faults=Faults(latency=0.1))
    roster = tmp_path / "in.csv"
    write_roster(roster, 60)
    args = sync_args(sandbox, tmp_path, roster, "--concurrency", "2")
    first = start_cli(args)
    deadline = time.monotonic() + 30
    while sandbox.stats.creates_committed < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    second = run_cli(args)
    first.communicate(timeout=60)
    assert second.code == 3
    assert "another partner-sync run is using checkpoint" in second.stderr
    assert first.returncode == 0
    assert max(email_counts(sandbox).values()) == 1


def test_two_runs_with_their_own_checkpoints_on_one_account_create_nobody_twice(
    make_sandbox, tmp_path: Path
):
    sandbox = make_sandbox(faults=Faults(latency=0.02))
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    write_roster(left, 60)
    write_roster(right, 60, start=30)  # 30 partners in both
    runs = [
        start_cli(
            [
                "sync",
                str(path),
                "-p",
                "dub",
                "--base-url",
                sandbox.base_url,
                "--checkpoint",
                str(tmp_path / f"{path.stem}.checkpoint"),
                "--report",
                str(tmp_path / f"{path.stem}.csv"),
            ]
        )
        for path in (left, right)
    ]
    for process in runs:
        process.communicate(timeout=120)
    counts = email_counts(sandbox)
    assert len(counts) == 90 and max(counts.values()) == 1
    rows = list(statuses(tmp_path / "left.csv").values()) + list(
        statuses(tmp_path / "right.csv").values()
    )
    assert len(rows) == 120 and set(rows) <= {"created", "exists"}


def test_the_api_key_appears_nowhere_the_tool_writes(dub_sandbox, tmp_path: Path):
    result = run_cli(sync_args(dub_sandbox, tmp_path, SAMPLES / "roster.csv", "--verbose"))
    written = [result.stdout, result.stderr]
    written += [
        path.read_bytes().decode("utf-8", "replace")
        for path in tmp_path.iterdir()
        if path.is_file()
    ]
    assert all(DUB_KEY not in text for text in written)
    for name in ("report.csv", "run.checkpoint"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    # A refused key: exit 4, and the message does not repeat the key either.
    wrong = "dub_wrong_key_9f8e7d6c5b4a3928"
    refused = run_cli(
        sync_args(
            dub_sandbox, tmp_path / "x" if False else tmp_path, SAMPLES / "roster.csv", "--restart"
        ),
        env=cli_env(key=wrong),
    )
    assert refused.code == 4, refused.output
    assert wrong not in refused.output and "401" in refused.stderr


@pytest.mark.parametrize(
    ("data", "extra", "message"),
    [
        ("email,name\na@x.com,Zo\xeb\n".encode("latin-1"), [], "--encoding latin-1"),
        (b"mail,name\na@x.com,Zoe\n", ["--mapping", "MAP"], "'e-mail' (for email)"),
        (b"", [], "is empty"),
    ],
)
def test_bad_files_stop_before_any_request(dub_sandbox, tmp_path: Path, data, extra, message):
    roster = tmp_path / "in.csv"
    roster.write_bytes(data)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fields.email]\ncolumn = "e-mail"\n')
    extra = [str(mapping) if arg == "MAP" else arg for arg in extra]
    result = run_cli(sync_args(dub_sandbox, tmp_path, roster, *extra))
    assert result.code == 3, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert dub_sandbox.stats.total == 0


def test_usage_errors_exit_2(tmp_path: Path):
    assert run_cli(["sync", "in.csv"]).code == 2
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


def test_the_readme_command_works_without_a_key(tmp_path: Path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes((SAMPLES / "roster.csv").read_bytes())
    result = run_cli(
        [
            "sync",
            str(roster),
            "--provider",
            "dub",
            "--sandbox-seed",
            str(SAMPLES / "dub_existing.json"),
        ],
        env=cli_env(key=None),
    )
    assert result.code == 1, result.output
    assert "built-in dub sandbox" in result.stderr
    assert statuses(tmp_path / "roster.csv.dub.report.csv") == EXPECTED
