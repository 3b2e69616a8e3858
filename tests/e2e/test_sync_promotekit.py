"""PromoteKit end to end: taken codes are conflicts, and affiliates match by email alone."""

from __future__ import annotations

import csv
from pathlib import Path

from .conftest import cli_env, read_report, run_cli, sync_args

ENV = cli_env(provider="promotekit")


def _roster(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _person(n: int, **extra: str) -> dict[str, str]:
    return {
        "email": f"p{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "username": "",
        "promo_code": "",
        "tenant_id": f"crm-{n}",
        **extra,
    }


def test_taken_codes_are_conflicts_named_in_the_report(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox(
        "promotekit",
        seed=[
            {
                "email": "owner@example.com",
                "first_name": "Code",
                "last_name": "Owner",
                "ref_code": "taken-ref",
                "promo_code": "TAKEN10",
            }
        ],
    )
    roster = tmp_path / "in.csv"
    _roster(
        roster,
        [_person(1, username="taken-ref"), _person(2, promo_code="TAKEN10"), _person(3)],
    )
    result = run_cli(sync_args(sandbox, tmp_path, roster), env=ENV)
    assert result.code == 1, result.output
    rows = {int(line["row"]): line for line in read_report(tmp_path / "report.csv")}
    assert [rows[n]["status"] for n in (1, 2, 3)] == ["conflict", "conflict", "created"]
    assert rows[1]["field"] == "ref_code" and "taken-ref" in rows[1]["message"]
    assert rows[2]["field"] == "promo_code" and "TAKEN10" in rows[2]["message"]
    assert "row 1: conflict ref_code" in result.stdout
    # The scan showed the taken ref_code: row 1 is a conflict before any create. The taken
    # promo_code shows only on creating, and row 2 was looked up by email then: not ours.
    assert sandbox.stats.requests[("GET", "/affiliates")] == 1 + 1 + 1  # count, page, lookup
    assert sandbox.stats.requests[("POST", "/affiliates")] == 2
    assert sandbox.stats.creates_committed == 1


def test_affiliates_match_by_email_alone(make_sandbox, tmp_path: Path):
    old = [
        {"email": f"old{n}@example.com", "first_name": "Old", "last_name": f"N{n}"}
        for n in range(450)
    ]
    sandbox = make_sandbox("promotekit", seed=old)
    roster = tmp_path / "in.csv"
    # Three new affiliates, and an old one written in other case with a tenant id of its own:
    # PromoteKit has no tenant id, so there is nothing to conflict with.
    _roster(
        roster,
        [_person(1), _person(2), _person(3), _person(9, email=" OLD7@Example.com ")],
    )
    result = run_cli(sync_args(sandbox, tmp_path, roster), env=ENV)
    assert result.code == 0, result.output
    report = read_report(tmp_path / "report.csv")
    assert [line["status"] for line in report] == ["created", "created", "created", "exists"]
    assert report[3]["remote_id"] == sandbox.partners()[7]["id"]
    assert all(line["tenant_id"] == "" for line in report)
    # 4 lookups cost less than the 5 list pages of 450 affiliates: count, then one filtered
    # list call per row.
    assert "lookup" in result.stdout
    assert sandbox.stats.requests[("GET", "/affiliates")] == 1 + 4
    assert sandbox.stats.creates_committed == 3
