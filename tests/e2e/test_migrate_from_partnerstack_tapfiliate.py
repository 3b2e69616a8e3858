"""Migrations from PartnerStack and Tapfiliate, through the real CLI, between sandboxes."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox import Faults, Sandbox, load_seed

from .conftest import CASES, SAMPLES, cli_env, email_counts, read_report, run_cli, start_cli

PS_PUBLIC, PS_SECRET = "pk_live_8Jd3Kf9Lq2Wm5Xn7", "sk_live_4Tg6Hy1Uj8Ik3Ol9"
TAP_KEY, TAP_PROGRAM = "tap_live_2Zx7Cv5Bn9Mq4Wr8", "sandbox-program"
SOURCES: dict[str, dict[str, Any]] = {
    "partnerstack": {
        "seed": SAMPLES / "partnerstack_partners.json",
        "api_key": f"{PS_PUBLIC}:{PS_SECRET}",
        "env": {"PARTNERSTACK_PUBLIC_KEY": PS_PUBLIC, "PARTNERSTACK_SECRET_KEY": PS_SECRET},
    },
    "tapfiliate": {
        "seed": SAMPLES / "tapfiliate_affiliates.json",
        "api_key": TAP_KEY,
        "env": {"TAPFILIATE_API_KEY": TAP_KEY, "TAPFILIATE_PROGRAM_ID": TAP_PROGRAM},
    },
}


@pytest.fixture
def sources() -> Iterator[Any]:
    """Start source sandboxes that accept only their test credentials and enforce no limit."""
    started: list[Sandbox] = []

    def make(name: str, seed: list[dict[str, Any]] | None = None) -> Sandbox:
        spec = SOURCES[name]
        sandbox = Sandbox(
            name, seed=seed or load_seed(spec["seed"]), api_key=spec["api_key"], rate_limit=0
        )
        started.append(sandbox.start())
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()
    for sandbox in started:
        assert sandbox.internal_errors == [], sandbox.internal_errors[0]


def migrate(
    name: str, source: Sandbox, target: Sandbox, tmp_path: Path, *extra: str, command: str = "sync"
) -> list[str]:
    args = [
        command,
        "--from",
        name,
        "--from-base-url",
        source.base_url,
        "-p",
        target.provider,
        "--base-url",
        target.base_url,
        "--report",
        str(tmp_path / f"{command}.csv"),
        "--rate-limit",
        "6000",
        "--from-rate-limit",
        "6000",
    ]
    if command == "sync":
        args += ["--checkpoint", str(tmp_path / "move.checkpoint")]
    return [*args, *extra]


def env_for(name: str, target: Sandbox) -> dict[str, str]:
    return cli_env(provider=target.provider, **SOURCES[name]["env"])


def expected(name: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """From the sample seed: the active partners (email -> names and code), the others' status."""
    first, last, code = (
        ("first_name", "last_name", "code")
        if name == "partnerstack"
        else ("firstname", "lastname", "ref")
    )
    active, others = {}, {}
    for record in load_seed(SOURCES[name]["seed"]):
        status = _seed_status(name, record)
        if status == "active":
            active[record["email"]] = {
                "first_name": record[first],
                "last_name": record[last],
                "code": record[code],
            }
        else:
            others[record["email"]] = status
    return active, others


def _seed_status(name: str, record: dict[str, Any]) -> str:
    if name == "partnerstack":
        state = record.get("approved_status", "approved")
        return "active" if state == "approved" else state
    if "program_id" in record and record["program_id"] is None:
        return "not in program"
    approved = record.get("approved", True)
    return "active" if approved is True else ("pending" if approved is None else "not approved")


def target_view(target: Sandbox) -> dict[str, dict[str, str]]:
    """Each partner at the target by email: names and referral code, in its own fields."""
    view = {}
    for partner in target.partners():
        if target.provider == "dub":
            first, _, last = (partner.get("name") or "").partition(" ")
            links = partner.get("links") or []
            code = links[0]["key"] if links else ""
        elif target.provider == "partnero":
            first, last, code = partner.get("name"), partner.get("surname"), partner.get("key")
        else:
            first, last = partner.get("first_name"), partner.get("last_name")
            code = partner["links"][0]["code"] if partner.get("links") else ""
        view[partner["email"]] = {"first_name": first or "", "last_name": last or "", "code": code}
    return view


CASES_MOVED = [("partnerstack", "dub"), ("tapfiliate", "dub"), ("tapfiliate", "promotekit")]


@pytest.mark.parametrize(("name", "target_name"), CASES_MOVED, ids=lambda v: v)
def test_active_partners_move_once_with_names_and_codes_exact(
    make_sandbox: Any, sources: Any, tmp_path: Path, name: str, target_name: str
) -> None:
    source = sources(name)
    target = make_sandbox(target_name, api_key=CASES[target_name].key)
    env = env_for(name, target)
    active, others = expected(name)
    result = run_cli(migrate(name, source, target, tmp_path), env=env)
    assert result.code == 0, result.output
    report = {line["email"]: line for line in read_report(tmp_path / "sync.csv")}
    assert len(report) == len(source.partners())  # every source partner accounted for
    assert {e for e, line in report.items() if line["status"] == "created"} == set(active)
    for email, status in others.items():
        assert report[email]["status"] == "skipped", report[email]
        assert status in report[email]["message"], report[email]
    moved = target_view(target)
    assert moved == active  # names and codes exact, and nobody else
    assert max(email_counts(target).values()) == 1
    assert source.stats.creates_committed == 0

    again = run_cli(migrate(name, source, target, tmp_path), env=env)
    assert again.code == 0, again.output
    # Nothing is sent again: the same job reports what it did; the target has nobody new.
    assert target.stats.creates_committed == len(moved)

    # verify reads both sides and finds every moved partner the same, the others skipped.
    verify = run_cli(migrate(name, source, target, tmp_path, command="verify"), env=env)
    assert verify.code == 0, verify.output
    checked = {line["email"]: line["status"] for line in read_report(tmp_path / "verify.csv")}
    assert {e for e, s in checked.items() if s == "same"} == set(active), verify.output
    assert {e for e, s in checked.items() if s == "skipped"} == set(others)


def many(name: str, count: int) -> list[dict[str, Any]]:
    if name == "partnerstack":
        return [
            {
                "email": f"ps{n:04d}@example.com",
                "first_name": f"Ps{n}",
                "last_name": "Mover",
                "code": f"psmover{n}",
                "country": "Germany",
            }
            for n in range(count)
        ]
    return [
        {
            "email": f"tap{n:04d}@example.com",
            "firstname": f"Tap{n}",
            "lastname": "Mover",
            "ref": f"tapmover{n}",
            "country": "DE",
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_killed_migration_finishes_with_nobody_twice(
    make_sandbox: Any, sources: Any, tmp_path: Path, name: str
) -> None:
    source = sources(name, many(name, 120))
    target = make_sandbox("dub", api_key=CASES["dub"].key, faults=Faults(latency=0.03))
    env = env_for(name, target)
    args = migrate(name, source, target, tmp_path, "--concurrency", "4")
    process = start_cli(args, env=env)
    deadline = time.monotonic() + 60
    while target.stats.creates_committed < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    assert 0 < target.stats.creates_committed < 120
    result = run_cli(args, env=env)
    assert result.code == 0, result.output
    assert {line["status"] for line in read_report(tmp_path / "sync.csv")} <= {"created"}
    assert len(target.partners()) == 120 and max(email_counts(target).values()) == 1


@pytest.mark.parametrize(
    ("name", "given", "missing"),
    [
        ("partnerstack", {"PARTNERSTACK_PUBLIC_KEY": PS_PUBLIC}, "PARTNERSTACK_SECRET_KEY"),
        ("partnerstack", {"PARTNERSTACK_SECRET_KEY": PS_SECRET}, "PARTNERSTACK_PUBLIC_KEY"),
        ("tapfiliate", {"TAPFILIATE_API_KEY": TAP_KEY}, "TAPFILIATE_PROGRAM_ID"),
        ("tapfiliate", {"TAPFILIATE_PROGRAM_ID": TAP_PROGRAM}, "TAPFILIATE_API_KEY"),
    ],
)
def test_a_missing_credential_is_named_before_any_request(
    make_sandbox: Any, sources: Any, tmp_path: Path, name: str, given: dict[str, str], missing: str
) -> None:
    source = sources(name)
    target = make_sandbox("dub", api_key=CASES["dub"].key)
    result = run_cli(migrate(name, source, target, tmp_path), env=cli_env(provider="dub", **given))
    assert result.code == 3, result.output
    assert missing in result.stderr
    assert source.stats.total == 0 and target.stats.total == 0


@pytest.mark.parametrize("name", list(SOURCES))
def test_without_keys_the_built_in_sandbox_is_the_source(tmp_path: Path, name: str) -> None:
    result = run_cli(
        ["plan", "--from", name, "-p", "dub", "--report", str(tmp_path / "plan.csv")],
        env=cli_env(None),
    )
    assert result.code == 0, result.output
    report = read_report(tmp_path / "plan.csv")
    assert len(report) == 12  # the sample seed: every partner read and accounted for
    planned = {line["email"]: line["status"] for line in report}
    active, others = expected(name)
    assert {email for email, status in planned.items() if status == "create"} == set(active)
    assert {email for email, status in planned.items() if status == "skipped"} == set(others)
