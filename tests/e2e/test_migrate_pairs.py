"""Every pair of providers migrates, in both directions, with the invariants intact."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from sync.sandbox import load_seed

from .conftest import CASES, SAMPLES, cli_env, email_counts, run_cli, statuses

PAIRS = [pair for pair in itertools.permutations(CASES, 2)]


@pytest.mark.parametrize(
    ("source_name", "target_name"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS]
)
def test_every_pair_migrates_once_and_a_rerun_matches(
    make_sandbox, tmp_path: Path, source_name: str, target_name: str
):
    source_case, target_case = CASES[source_name], CASES[target_name]
    source = make_sandbox(
        source_name,
        seed=load_seed(SAMPLES / f"{source_name}_existing.json"),
        api_key=source_case.key,
    )
    target = make_sandbox(target_name, api_key=target_case.key)
    env = cli_env(provider=target_name, **{source_case.env_key: source_case.key})

    def migrate(checkpoint: str, command: str = "sync") -> tuple[int, str, dict[int, str]]:
        args = [
            command,
            "--from",
            source_name,
            "--from-base-url",
            source.base_url,
            "-p",
            target_name,
            "--base-url",
            target.base_url,
            "--report",
            str(tmp_path / f"{checkpoint}.csv"),
            "--rate-limit",
            "6000",
        ]
        if command == "sync":
            args += ["--checkpoint", str(tmp_path / checkpoint)]
        result = run_cli(args, env=env)
        assert "Traceback" not in result.output
        return result.code, result.output, statuses(tmp_path / f"{checkpoint}.csv")

    plan_code, plan_output, planned = migrate("plan", command="plan")
    assert plan_code in (0, 1), plan_output
    assert "not carried across" in plan_output
    code, output, rows = migrate("first")
    assert code in (0, 1), output
    assert len(rows) == len(source.partners()) == 7
    assert set(rows.values()) <= {"created", "invalid"}, output
    assert {row for row, s in planned.items() if s == "create"} == {
        row for row, s in rows.items() if s == "created"
    }
    created = sum(1 for s in rows.values() if s == "created")
    assert created >= 5 and target.stats.creates_committed == created
    assert max(email_counts(target).values()) == 1
    assert source.stats.creates_committed == 0

    # A new job over the same source (another checkpoint) finds everything it moved.
    code, output, again = migrate("second")
    assert {row for row, s in again.items() if s == "exists"} == {
        row for row, s in rows.items() if s == "created"
    }, output
    assert target.stats.creates_committed == created


def test_what_cannot_be_carried_is_named_per_field(make_sandbox, tmp_path: Path):
    case = CASES["promotekit"]
    seed = [
        {
            "email": "pay@example.com",
            "first_name": "Pay",
            "last_name": "Out",
            "payout_email": "bank@example.com",
            "ref_code": "payout",
        },
        {"email": "plain@example.com", "first_name": "Plain", "last_name": "Jane"},
    ]
    source = make_sandbox("promotekit", seed=seed, api_key=case.key)
    target = make_sandbox("dub")
    result = run_cli(
        [
            "plan",
            "--from",
            "promotekit",
            "--from-base-url",
            source.base_url,
            "-p",
            "dub",
            "--base-url",
            target.base_url,
            "--report",
            str(tmp_path / "p.jsonl"),
        ],
        env=cli_env(provider="dub", **{case.env_key: case.key}),
    )
    assert result.code == 0, result.output
    assert "payout_email: 1 of 2 partners have one" in result.stdout
    assert "clicks" in result.stdout and "campaign" in result.stdout
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["create", "create"]
