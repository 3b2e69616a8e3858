"""Migrations: another platform's account as the source, through the provider-neutral model."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path

import pytest
from support.accounts import KEYS
from support.sandboxes import MakeSandbox
from support.waiting import wait_until

from sync.sandbox import Faults, Sandbox

from .conftest import (
    DUB_KEY,
    assert_resumed,
    cli_env,
    email_counts,
    run_cli,
    settled_commits,
    start_cli,
    statuses,
)
from .test_migrate_from_platforms import SOURCES, env_for, migrate, start_source

SOURCE_KEY = "dub_source_7Hq2Wm9Zr4Tx6Vb1Nc3Ls8Kd"


def migrate_args(source: Sandbox, target: Sandbox, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "sync",
        "--from",
        "dub",
        "--from-base-url",
        source.base_url,
        "--from-key-env",
        "SOURCE_KEY",
        "-p",
        "dub",
        "--base-url",
        target.base_url,
        "--checkpoint",
        str(tmp_path / "move.checkpoint"),
        "--report",
        str(tmp_path / "r.csv"),
        *extra,
    ]


def source_seed(count: int) -> list[dict[str, object]]:
    return [
        {
            "email": f"mover{n:04d}@example.com",
            "name": f"Mover {n}",
            "tenantId": f"old-{n}",
            "country": "DE",
            "username": f"mover{n}",
        }
        for n in range(count)
    ]


def test_migration_carries_partners_once_and_a_rerun_matches_them(make_sandbox, tmp_path: Path):
    source = make_sandbox(seed=source_seed(40), api_key=SOURCE_KEY)
    target = make_sandbox(seed=[{"email": "mover0003@example.com", "tenantId": "old-3"}])
    env = cli_env(SOURCE_KEY=SOURCE_KEY)
    result = run_cli(migrate_args(source, target, tmp_path), env=env)
    assert result.code == 0, result.output
    rows = statuses(tmp_path / "r.csv")
    assert len(rows) == 40 and list(rows.values()).count("created") == 39
    assert list(rows.values()).count("exists") == 1
    moved = {p["email"]: p for p in target.partners()}
    assert moved["mover0007@example.com"]["tenantId"] == "old-7"
    assert moved["mover0007@example.com"]["country"] == "DE"
    assert "not carried across" in result.stdout and "links" in result.stdout
    assert source.stats.creates_committed == 0  # the source is only read
    # The next migration run (say, the source grew) matches everything already moved.
    source.add_partner({"email": "late@example.com", "name": "Late Comer"})
    again = run_cli(migrate_args(source, target, tmp_path), env=env)
    assert again.code == 0, again.output
    rows = statuses(tmp_path / "r.csv")
    assert len(rows) == 41 and list(rows.values()).count("created") == 1
    assert max(email_counts(target).values()) == 1


def test_killed_migration_resumes_from_its_snapshot(make_sandbox, tmp_path: Path):
    source = make_sandbox(seed=source_seed(150), api_key=SOURCE_KEY)
    # 20 creates/s while it is killed: 130 creates (6 s) are still to come when the kill lands.
    target = make_sandbox(faults=Faults(latency=0.2))
    env = cli_env(SOURCE_KEY=SOURCE_KEY)
    args = migrate_args(source, target, tmp_path, "--concurrency", "4")
    process = start_cli(args, env=env)
    wait_until(lambda: target.stats.creates_committed >= 20, "20 creates", process=process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    source_calls = source.stats.total
    before = settled_commits(target)
    target.set_faults(Faults(latency=0.05))
    result = run_cli(args, env=env)
    assert result.code == 0, result.output
    assert source.stats.total == source_calls  # resumed from the snapshot, no new listing
    assert re.search(r"^  API calls: \d+ to dub \(.*\); 0 to dub$", result.stdout, re.M)
    assert_resumed(tmp_path / "r.csv", result.stdout, rows=150, killed_at=before)
    assert target.stats.creates_committed == 150
    assert max(email_counts(target).values()) == 1


def test_plan_of_a_migration_writes_nothing_anywhere(make_sandbox, tmp_path: Path):
    source = make_sandbox(seed=source_seed(5), api_key=SOURCE_KEY)
    target = make_sandbox()
    args = migrate_args(source, target, tmp_path)
    args[0] = "plan"
    result = run_cli(
        [a for a in args if a not in ("--checkpoint", str(tmp_path / "move.checkpoint"))],
        env=cli_env(SOURCE_KEY=SOURCE_KEY),
    )
    assert result.code == 0, result.output
    assert set(statuses(tmp_path / "r.csv").values()) == {"create"}
    assert target.stats.creates_committed == 0 and source.stats.creates_committed == 0


def test_same_provider_needs_a_second_key(tmp_path: Path):
    result = run_cli(["sync", "--from", "dub", "-p", "dub"], env=cli_env(DUB_KEY))
    assert result.code == 2 and "--from-key-env" in result.stderr
    both = run_cli(["sync", "in.csv", "--from", "dub", "-p", "dub"])
    assert both.code == 2 and "not both" in both.stderr


# An account without partners of each kind of source: a provider's (with a key, and its
# keyless built-in sandbox) and a read-only platform's.
EMPTY_SOURCES = ["dub", "partnero", "promotekit", "tapfiliate", "keyless partnero"]
FILL_HINT = "nothing to migrate; fill the built-in partnero sandbox with --from-sandbox-seed FILE"


def _empty_source(make_sandbox: MakeSandbox, case: str) -> tuple[str, list[str], dict[str, str]]:
    """The source's name, the options that read it and the variables they need."""
    if case == "keyless partnero":  # no PARTNERO_API_KEY: the built-in sandbox, made empty
        return "partnero", ["--from", "partnero"], {}
    if case == "dub":
        source = make_sandbox(api_key=SOURCE_KEY)
        return "dub", [*("--from", "dub", "--from-key-env", "SOURCE_KEY"), *(
            "--from-base-url", source.base_url)], {"SOURCE_KEY": SOURCE_KEY}  # fmt: skip
    if case == "tapfiliate":
        source = make_sandbox("tapfiliate", seed=[], api_key=SOURCES["tapfiliate"]["api_key"])
        env = SOURCES["tapfiliate"]["env"]
    else:
        source = make_sandbox(case)
        env = dict([KEYS[case]])
    return case, ["--from", case, "--from-base-url", source.base_url], env


@pytest.mark.parametrize("case", EMPTY_SOURCES)
def test_a_migration_from_an_empty_source_says_there_is_nothing_to_migrate(
    make_sandbox, tmp_path: Path, case: str
):
    name, source_args, source_env = _empty_source(make_sandbox, case)
    target = make_sandbox()
    env = cli_env(**source_env)
    kept = [
        *("--checkpoint", str(tmp_path / "move.checkpoint")),
        *("--report", str(tmp_path / "r.csv")),
    ]
    args = ["sync", *source_args, "-p", "dub", "--base-url", target.base_url, *kept]
    empty = f"the source account ({name}) has no partners; nothing to migrate"
    for _ in range(2):  # and so does its rerun
        result = run_cli(args, env=env)
        assert result.code == 0, result.output
        assert "sync: 0 rows into dub in" in result.stdout and empty in result.stdout, result.output
        assert (FILL_HINT in result.stdout) == case.startswith("keyless"), result.stdout
        assert "nothing was sent to dub this run" in result.stdout
        assert "not carried across" not in result.stdout  # nothing read, nothing left behind
        report = (tmp_path / "r.csv").read_bytes()
        assert report == b"row,status,remote_id,email,tenant_id,field,message\r\n"
    assert target.partners() == [] and target.stats.creates_committed == 0
    # `plan` says the same, before anything is kept.
    planned = run_cli(["plan", *args[1:-4], "--report", str(tmp_path / "p.csv")], env=env)
    assert planned.code == 0, planned.output
    assert "plan: 0 rows into dub" in planned.stdout and empty in planned.stdout, planned.output
    assert (FILL_HINT in planned.stdout) == case.startswith("keyless"), planned.stdout


def _calls_of(line: str) -> Counter[str]:
    return Counter({kind: int(n) for kind, n in re.findall(r"(\w+) (\d+)", line)})


def test_a_migrations_calls_are_counted_at_the_target_and_at_the_source(
    make_sandbox, tmp_path: Path
):
    source = start_source(make_sandbox, "tapfiliate")
    target = make_sandbox()
    args = migrate("tapfiliate", source, target, tmp_path)
    result = run_cli(args, env=env_for("tapfiliate", target))
    assert result.code in (0, 1), result.output
    found = re.search(
        r"^  API calls: (\d+) to dub \((.*)\); (\d+) to tapfiliate \((.*)\)$", result.stdout, re.M
    )
    assert found, result.stdout
    # Each count is what that account's sandbox received, request by request.
    assert int(found.group(1)) == target.stats.total
    assert int(found.group(3)) == source.stats.total > 0
    assert sum(_calls_of(found.group(2)).values()) == target.stats.total
    assert set(_calls_of(found.group(4))) == {"list"}
    assert sum(_calls_of(found.group(4)).values()) == source.stats.total
    assert target.stats.creates_committed == _calls_of(found.group(2))["create"] > 0
