"""Migrations from the five platforms (PartnerStack, Tapfiliate, Rewardful, Tolt, FirstPromoter),
through the real CLI, between sandboxes."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.sandboxes import MakeSandbox
from support.waiting import wait_until

from sync.providers.partnero import Partnero
from sync.sandbox import Faults, Sandbox, load_seed

from .conftest import (
    SAMPLES,
    assert_resumed,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    settled_commits,
    start_cli,
)

PS_PUBLIC, PS_SECRET = "pk_live_8Jd3Kf9Lq2Wm5Xn7", "sk_live_4Tg6Hy1Uj8Ik3Ol9"
TAP_KEY, TAP_PROGRAM = "tap_live_2Zx7Cv5Bn9Mq4Wr8", "sandbox-program"
RW_SECRET = "rw_secret_7Hq2Lp9Vx4"
TOLT_KEY, TOLT_PROGRAM = "tolt_key_3Nc8Wd5Kz1", "prg_sandbox"
FP_KEY, FP_ACCOUNT = "fp_key_6Jt4Rb2Ms8", "acc_4471"
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
    "rewardful": {
        "seed": SAMPLES / "rewardful_affiliates.json",
        "api_key": RW_SECRET,
        "env": {"REWARDFUL_API_SECRET": RW_SECRET},
    },
    "tolt": {
        "seed": SAMPLES / "tolt_partners.json",
        "api_key": TOLT_KEY,
        "env": {"TOLT_API_KEY": TOLT_KEY, "TOLT_PROGRAM_ID": TOLT_PROGRAM},
    },
    "firstpromoter": {
        "seed": SAMPLES / "firstpromoter_promoters.json",
        "api_key": f"{FP_KEY}:{FP_ACCOUNT}",
        "env": {"FIRSTPROMOTER_API_KEY": FP_KEY, "FIRSTPROMOTER_ACCOUNT_ID": FP_ACCOUNT},
    },
}
PLATFORMS = list(SOURCES)


def served_at(server: subprocess.Popen[str]) -> str:
    """The URL the `sandbox` command says it serves at, once it says so."""
    assert server.stderr is not None
    for line in server.stderr:  # ends when the command does
        found = re.search(r"sandbox serving at (\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"the sandbox command ended (exit {server.wait()}) without serving")


def start_source(
    make_sandbox: MakeSandbox, name: str, seed: list[dict[str, Any]] | None = None, **options: Any
) -> Sandbox:
    """A source sandbox that accepts only its test credentials, with the sample's partners."""
    spec = SOURCES[name]
    seed = seed or load_seed(spec["seed"])
    return make_sandbox(name, seed=seed, api_key=spec["api_key"], **options)


def migrate(
    name: str, source: Sandbox, target: Sandbox, tmp_path: Path, *extra: str, command: str = "sync"
) -> list[str]:
    args = [
        *(command, "--from", name, "--from-base-url", source.base_url),
        *("-p", target.provider, "--base-url", target.base_url),
        *("--report", str(tmp_path / f"{command}.csv")),
        *("--rate-limit", "6000", "--from-rate-limit", "6000"),
    ]
    if command == "sync":
        args += ["--checkpoint", str(tmp_path / "move.checkpoint")]
    return [*args, *extra]


def env_for(name: str, target: Sandbox) -> dict[str, str]:
    return cli_env(provider=target.provider, **SOURCES[name]["env"])


def seed_view(name: str, record: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A seed record's status at the source, and its names and code as they must arrive."""
    if name == "partnerstack":
        state = record.get("approved_status", "approved")
        status = "active" if state == "approved" else state
        return status, _view(record["first_name"], record["last_name"], record["code"])
    if name == "tapfiliate":
        approved = record.get("approved", True)
        if "program_id" in record and record["program_id"] is None:
            status = "not in program"
        else:
            status = (
                "active"
                if approved is True
                else ("pending" if approved is None else "not approved")
            )
        # Only an active affiliate's view is compared; the others may lack a referral code.
        view = _view(record["firstname"], record["lastname"], record.get("ref", ""))
        return status, view
    if name == "rewardful":
        state = record.get("state", "active")
        view = _view(record["first_name"], record["last_name"], record["links"][0]["token"])
    elif name == "tolt":
        state = record.get("status", "active")
        view = _view(record["first_name"], record["last_name"], record["links"][0]["value"])
    else:
        campaigns = record["promoter_campaigns"]
        accepted = [c for c in campaigns if c["state"] == "accepted"]
        state = "active" if accepted else campaigns[0]["state"]
        state = "archived" if record.get("archived_at") else state
        profile = record["profile"]
        view = _view(
            profile["first_name"], profile["last_name"], (accepted or campaigns)[0]["ref_token"]
        )
    return ("active" if state in ("active", "accepted") else state), view


def _view(first_name: str, last_name: str, code: str) -> dict[str, str]:
    return {"first_name": first_name, "last_name": last_name, "code": code}


def expected(name: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """From the sample seed: the active partners (email -> names and code), the others' status."""
    active, others = {}, {}
    for record in load_seed(SOURCES[name]["seed"]):
        status, view = seed_view(name, record)
        if status == "active":
            active[record["email"]] = view
        else:
            others[record["email"]] = status
    return active, others


def target_view(target: Sandbox) -> dict[str, dict[str, str]]:
    """Each partner at the target by email: names and referral code, in its own fields."""
    view = {}
    for partner in target.partners():
        if target.provider == "dub":
            first, _, last = (partner.get("name") or "").partition(" ")
            links = partner.get("links") or []
            code = links[0]["key"] if links else ""
        elif target.provider == "partnero":
            # The code is in the referral link, read as the provider does.
            first, last = partner.get("name"), partner.get("surname")
            code = Partnero().to_neutral(partner)["referral_code"]
        else:
            first, last = partner.get("first_name"), partner.get("last_name")
            code = partner["links"][0]["code"] if partner.get("links") else ""
        view[partner["email"]] = _view(first or "", last or "", code or "")
    return view


def many(name: str, count: int) -> list[dict[str, Any]]:
    """`count` active partners at the source: moverNNNN@example.com, code moverN."""
    people = [(f"mover{n:04d}@example.com", f"M{n}", "Mover", f"mover{n}") for n in range(count)]
    if name == "partnerstack":
        return [
            {"email": e, "first_name": f, "last_name": last, "code": code, "country": "Germany"}
            for e, f, last, code in people
        ]
    if name == "tapfiliate":
        return [
            {"email": e, "firstname": f, "lastname": last, "ref": code, "country": "DE"}
            for e, f, last, code in people
        ]
    if name == "rewardful":
        return [
            {"email": e, "first_name": f, "last_name": last, "links": [{"token": code}]}
            for e, f, last, code in people
        ]
    if name == "tolt":
        return [
            {"email": e, "first_name": f, "last_name": last, "links": [{"value": code}]}
            for e, f, last, code in people
        ]
    return [
        {
            "email": e,
            "profile": {"first_name": f, "last_name": last},
            "promoter_campaigns": [{"state": "accepted", "ref_token": code}],
        }
        for e, f, last, code in people
    ]


CASES_MOVED = [
    ("partnerstack", "dub"),
    ("tapfiliate", "dub"),
    ("tapfiliate", "promotekit"),
    ("rewardful", "dub"),
    ("tolt", "dub"),
    ("firstpromoter", "dub"),
    ("rewardful", "partnero"),
    ("tolt", "promotekit"),
]


@pytest.mark.parametrize(("name", "target_name"), CASES_MOVED, ids=lambda v: v)
def test_active_partners_move_once_with_names_and_codes_exact_the_rest_skipped(
    make_sandbox: MakeSandbox, tmp_path: Path, name: str, target_name: str
) -> None:
    source = start_source(make_sandbox, name)
    target = make_sandbox(target_name)
    env = env_for(name, target)
    active, others = expected(name)
    assert active and others  # the sample holds both
    result = run_cli(migrate(name, source, target, tmp_path), env=env)
    assert result.code == 0, result.output
    report = {line["email"]: line for line in read_report(tmp_path / "sync.csv")}
    assert len(report) == len(source.partners())  # every source partner accounted for
    assert {e for e, line in report.items() if line["status"] == "created"} == set(active)
    for email, status in others.items():
        assert report[email]["status"] == "skipped", report[email]
        assert status in report[email]["message"], report[email]
    assert target_view(target) == active  # names and codes exact, and nobody else
    assert max(email_counts(target).values()) == 1
    assert source.stats.creates_committed == 0

    again = run_cli(migrate(name, source, target, tmp_path), env=env)
    assert again.code == 0, again.output
    # Nothing is sent again: the same job reports what it did; the target has nobody new.
    assert target.stats.creates_committed == len(active)

    # verify reads both sides and finds every moved partner the same, the others skipped.
    verified = run_cli(migrate(name, source, target, tmp_path, command="verify"), env=env)
    assert verified.code == 0, verified.output
    checked = {line["email"]: line["status"] for line in read_report(tmp_path / "verify.csv")}
    assert checked == {**dict.fromkeys(active, "same"), **dict.fromkeys(others, "skipped")}
    assert target.stats.creates_committed == len(active)  # verify only reads


@pytest.mark.parametrize("name", PLATFORMS)
def test_a_killed_migration_finishes_with_nobody_twice(
    make_sandbox: MakeSandbox, tmp_path: Path, name: str
) -> None:
    source = start_source(make_sandbox, name, many(name, 120))
    # About 13 creates/s while it is killed: 105 creates (8 s) are still to come when the kill
    # lands, however loaded the machine; the same command then finishes against a quicker one.
    target = make_sandbox("dub", faults=Faults(latency=0.3))
    env = env_for(name, target)
    args = migrate(name, source, target, tmp_path, "--concurrency", "4")
    process = start_cli(args, env=env)
    wait_until(lambda: target.stats.creates_committed >= 15, "15 creates", process=process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    killed_at = settled_commits(target)
    assert 0 < killed_at < 120
    target.set_faults(Faults(latency=0.03))
    result = run_cli(args, env=env)
    assert result.code == 0, result.output
    assert_resumed(tmp_path / "sync.csv", result.stdout, rows=120, killed_at=killed_at)
    assert len(target.partners()) == 120 and max(email_counts(target).values()) == 1
    codes = {p["email"]: p["links"][0]["key"] for p in target.partners()}
    assert codes == {f"mover{n:04d}@example.com": f"mover{n}" for n in range(120)}


@pytest.mark.parametrize(
    ("name", "given", "missing"),
    [
        ("partnerstack", {"PARTNERSTACK_PUBLIC_KEY": PS_PUBLIC}, "PARTNERSTACK_SECRET_KEY"),
        ("partnerstack", {"PARTNERSTACK_SECRET_KEY": PS_SECRET}, "PARTNERSTACK_PUBLIC_KEY"),
        ("tapfiliate", {"TAPFILIATE_API_KEY": TAP_KEY}, "TAPFILIATE_PROGRAM_ID"),
        ("tapfiliate", {"TAPFILIATE_PROGRAM_ID": TAP_PROGRAM}, "TAPFILIATE_API_KEY"),
        ("tolt", {"TOLT_API_KEY": TOLT_KEY}, "TOLT_PROGRAM_ID"),
        ("tolt", {"TOLT_PROGRAM_ID": TOLT_PROGRAM}, "TOLT_API_KEY"),
        ("firstpromoter", {"FIRSTPROMOTER_API_KEY": FP_KEY}, "FIRSTPROMOTER_ACCOUNT_ID"),
        ("firstpromoter", {"FIRSTPROMOTER_ACCOUNT_ID": FP_ACCOUNT}, "FIRSTPROMOTER_API_KEY"),
    ],
)
def test_a_missing_credential_is_named_before_any_request(
    make_sandbox: MakeSandbox, tmp_path: Path, name: str, given: dict[str, str], missing: str
) -> None:
    source = start_source(make_sandbox, name)
    target = make_sandbox("dub")
    result = run_cli(migrate(name, source, target, tmp_path), env=cli_env(provider="dub", **given))
    assert result.code == 3, result.output
    assert missing in result.stderr
    assert source.stats.total == 0 and target.stats.total == 0


def test_a_remote_rewardful_without_its_secret_is_a_configuration_error(tmp_path: Path) -> None:
    result = run_cli(
        [
            *("plan", "--from", "rewardful"),
            *("--from-base-url", "https://rewardful.example.test/v1"),
            *("-p", "dub", "--report", str(tmp_path / "plan.csv")),
        ],
        env=cli_env(None),
    )
    assert result.code == 3, result.output
    assert "REWARDFUL_API_SECRET" in result.stderr


def test_a_wrong_secret_stops_the_read_with_the_platform_s_words(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    source = start_source(make_sandbox, "rewardful")
    target = make_sandbox("dub")
    env = cli_env(provider="dub", REWARDFUL_API_SECRET="not-the-secret")
    result = run_cli(migrate("rewardful", source, target, tmp_path), env=env)
    assert result.code == 4, result.output
    assert "Invalid API Secret." in result.stderr and "not-the-secret" not in result.output
    assert target.stats.creates_committed == 0


@pytest.mark.parametrize("name", PLATFORMS)
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


# The platforms whose budget no header states. PartnerStack also reads each partner's links
# (250 more calls, 30% of them refused, each halving the budget) and Tapfiliate states 300/min:
# for them this trial takes minutes, not seconds.
@pytest.mark.parametrize("name", ["rewardful", "tolt", "firstpromoter"])
def test_429s_from_the_source_are_waited_out_and_every_partner_still_moves(
    make_sandbox: MakeSandbox, tmp_path: Path, name: str
) -> None:
    faults = Faults(burst_429=0.3, burst_len=2, retry_after_seconds=0.05, seed=7)
    # Several pages, so several chances of a 429.
    source = start_source(make_sandbox, name, many(name, 250), faults=faults)
    target = make_sandbox("dub")
    result = run_cli(migrate(name, source, target, tmp_path), env=env_for(name, target))
    assert result.code == 0, result.output
    assert source.stats.rate_limited > 0
    assert len(target.partners()) == 250 and max(email_counts(target).values()) == 1


def test_the_sandbox_command_serves_a_source_that_a_migration_reads(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    seed = str(SOURCES["rewardful"]["seed"])
    # Port 0: the command picks a free port itself and says where it serves.
    server = start_cli(["sandbox", "-p", "rewardful", "--port", "0", "--seed", seed])
    try:
        base_url = served_at(server)
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1"), base_url
        httpx.get(f"{base_url}/campaigns", timeout=60)  # it answers (without a key: refused)
        target = make_sandbox("dub")
        args = [
            *("plan", "--from", "rewardful", "--from-base-url", base_url),
            *("-p", "dub", "--base-url", target.base_url),
            *("--report", str(tmp_path / "plan.csv")),
        ]
        result = run_cli(args, env=cli_env(provider="dub", REWARDFUL_API_SECRET=RW_SECRET))
        assert result.code == 0, result.output
        planned = {line["email"]: line["status"] for line in read_report(tmp_path / "plan.csv")}
        active, others = expected("rewardful")
        assert {email for email, status in planned.items() if status == "create"} == set(active)
        assert {email for email, status in planned.items() if status == "skipped"} == set(others)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
