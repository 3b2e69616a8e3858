"""Every direction between the three providers keeps referral codes, moves only active partners,
names every code clash, and `verify` proves the result (in no more calls than `plan`)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import CASES, cli_env, read_report, run_cli

PAIRS = list(itertools.permutations(CASES, 2))
CODES = {"ann": "ann-2024", "bob": "Bob_Ref", "cid": "clash", "dee": "dee-code", "eve": "eve"}


def _person(name: str, status: str, provider: str) -> dict[str, Any]:
    """One source partner of `provider`, with `status` in that provider's own words."""
    email, code = f"{name}@example.com", CODES[name]
    if provider == "dub":
        record = {"email": email, "name": f"{name.title()} Smith", "username": code}
        record |= {"tenantId": f"crm-{name}", "country": "DE"}
        return record | {"status": {"active": "approved"}.get(status, status)}
    if provider == "partnero":
        record = {"email": email, "name": name.title(), "surname": "Smith", "id": f"crm-{name}"}
        record["key"] = code
        if status == "pending":
            return record | {"status": "active", "approved": False}
        return record | {"status": status}
    record = {"email": email, "first_name": name.title(), "last_name": "Smith", "ref_code": code}
    if status == "banned":
        record["banned"] = True
    if status == "pending":
        record["approved"] = False
    return record


# At each source: three active partners, one left behind for its status, one not yet approved.
# PromoteKit knows only banned and unapproved; Partnero has no "banned" (it archives).
LEFT_BEHIND = {"dub": "banned", "partnero": "archived", "promotekit": "banned"}


def _source_seed(provider: str) -> list[dict[str, Any]]:
    return [
        _person("ann", "active", provider),
        _person("bob", "active", provider),
        _person("cid", "active", provider),  # its code is another partner's at the target
        _person("dee", LEFT_BEHIND[provider], provider),
        _person("eve", "pending", provider),
    ]


def _holder(provider: str) -> dict[str, Any]:
    """A partner of the target that already holds the code "clash"."""
    if provider == "dub":
        return {"email": "holder@example.com", "name": "Code Holder", "username": "clash"}
    if provider == "partnero":
        return {"email": "holder@example.com", "name": "Code", "id": "holder-1", "key": "clash"}
    return {"email": "holder@example.com", "first_name": "Code", "last_name": "Holder"} | {
        "ref_code": "clash"
    }


def _codes_at(target: Any, provider: str) -> dict[str, list[str]]:
    """Each target partner's referral codes, by email."""
    codes = {}
    for partner in target.partners():
        if provider == "dub":
            held = [link["key"] for link in partner.get("links") or []]
        elif provider == "partnero":
            held = [partner["referral_link"].split("aff=")[1]]
        else:
            held = [link["code"] for link in partner["links"]]
        codes[partner["email"]] = held
    return codes


def _calls(stdout: str) -> int:
    found = re.search(r"API calls: (\d+)", stdout)
    assert found, stdout
    return int(found.group(1))


@pytest.mark.parametrize(
    ("source_name", "target_name"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS]
)
def test_codes_statuses_and_verify_in_every_direction(
    make_sandbox, tmp_path: Path, source_name: str, target_name: str
):
    source_case, target_case = CASES[source_name], CASES[target_name]
    source = make_sandbox(source_name, seed=_source_seed(source_name), api_key=source_case.key)
    target = make_sandbox(target_name, seed=[_holder(target_name)], api_key=target_case.key)
    env = cli_env(provider=target_name, **{source_case.env_key: source_case.key})

    def run(command: str) -> tuple[int, str, dict[str, dict[str, str]]]:
        report = tmp_path / f"{command}.csv"
        args = [command, "--from", source_name, "--from-base-url", source.base_url]
        args += ["-p", target_name, "--base-url", target.base_url, "--report", str(report)]
        if command == "sync":
            args += ["--checkpoint", str(tmp_path / "move.checkpoint")]
        result = run_cli(args, env=env)
        assert "Traceback" not in result.output, result.output
        return result.code, result.stdout, {r["email"]: r for r in read_report(report)}

    left_behind = LEFT_BEHIND[source_name]
    plan_code, plan_out, planned = run("plan")
    assert f"skipped by their status at the source: {left_behind} 1, pending 1" in plan_out
    assert "referral codes: 1 of 3 to carry are taken at" in plan_out, plan_out

    code, out, moved = run("sync")
    status = {email.split("@")[0]: row["status"] for email, row in moved.items()}
    assert status["ann"] == status["bob"] == "created", out
    assert status["dee"] == status["eve"] == "skipped"
    assert left_behind in moved["dee@example.com"]["message"]
    assert "pending" in moved["eve@example.com"]["message"]
    clash = moved["cid@example.com"]
    assert "'clash'" in clash["message"], clash  # the clash names the code
    held = _codes_at(target, target_name)
    # Codes carried exactly, case and all.
    assert held["ann@example.com"] == ["ann-2024"] and held["bob@example.com"] == ["Bob_Ref"]
    assert "dee@example.com" not in held and "eve@example.com" not in held
    if target_name == "dub":
        # Dub gives a taken key a suffix: the row says which key the partner got instead.
        (got,) = held["cid@example.com"]
        assert got.startswith("clash-") and status["cid"] == "created"
        assert repr(got) in clash["message"] and clash["field"] == "username"
        assert code == 0
    else:
        assert status["cid"] == "conflict" and "cid@example.com" not in held
        assert planned["cid@example.com"]["status"] == "conflict"
        assert code == 1
    assert plan_code == code

    verify_code, verify_out, verified = run("verify")
    checked = {email.split("@")[0]: row["status"] for email, row in verified.items()}
    assert checked["ann"] == checked["bob"] == "same", verify_out
    assert checked["dee"] == checked["eve"] == "skipped"
    if target_name == "dub":
        assert checked["cid"] == "differs"
        row = verified["cid@example.com"]
        assert row["field"] == "username" and "username: clash -> clash-" in row["message"]
    else:
        assert checked["cid"] == "missing"
    assert verify_code == 1
    assert _calls(verify_out) <= _calls(plan_out), (verify_out, plan_out)


def test_a_file_verified_with_its_status_column(make_sandbox, tmp_path: Path):
    """verify works for a file too; --status-column applies the status policy to it, and
    --include-status moves a chosen status."""
    target = make_sandbox("dub")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,name,username,state\n"
        "ann@example.com,Ann Smith,ann-code,active\n"
        "bob@example.com,Bob Smith,bob-code,\n"
        "dee@example.com,Dee Smith,dee-code,Banned\n"
    )

    def run(command: str, path: Path, *extra: str) -> tuple[int, str, dict[str, dict[str, str]]]:
        report = tmp_path / f"{command}.csv"
        args = [command, str(path), "-p", "dub", "--base-url", target.base_url]
        args += ["--report", str(report), "--status-column", "state", *extra]
        if command == "sync":
            args += ["--checkpoint", str(tmp_path / "run.checkpoint")]
        result = run_cli(args, env=cli_env())
        return result.code, result.stdout, {r["email"]: r for r in read_report(report)}

    code, out, rows = run("plan", roster, "--include-status", "banned")
    assert code == 0 and {r["status"] for r in rows.values()} == {"create"}, out
    code, out, rows = run("sync", roster)
    assert code == 0, out
    assert [rows[f"{n}@example.com"]["status"] for n in ("ann", "bob", "dee")] == [
        "created",
        "created",
        "skipped",
    ]
    assert "banned at the source" in rows["dee@example.com"]["message"]
    code, out, rows = run("verify", roster)
    assert code == 0, out
    assert [rows[f"{n}@example.com"]["status"] for n in ("ann", "bob", "dee")] == [
        "same",
        "same",
        "skipped",
    ]
    # The roster moved on: a new name, a new partner. The platform no longer agrees.
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "email,name,username,state\n"
        "ANN@example.com,Ann Jones,ann-code,active\n"
        "bob@example.com,Bob Smith,bob-code,\n"
        "new@example.com,New Person,new-code,active\n"
    )
    code, out, rows = run("verify", changed)
    assert code == 1, out
    ann, bob, new = (rows[f"{n}@example.com"] for n in ("ANN", "bob", "new"))
    assert ann["status"] == "differs" and ann["field"] == "name", ann
    assert ann["message"] == "name: Ann Jones -> Ann Smith"  # the email matched, case aside
    assert bob["status"] == "same" and new["status"] == "missing"
    assert "differs 1, missing 1, same 1" in out
