"""Looking rows up and listing everything classify the same rows the same way."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import run_cli, statuses


def roster(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "tenant_id"])
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("padding", [0, 300], ids=["lookup", "scan"])
def test_a_tenant_id_of_another_partner_is_a_conflict_either_way(
    make_sandbox, tmp_path: Path, padding: int
):
    seed = [
        {"email": "ann@example.com", "tenantId": "t-ann"},
        {"email": "bob@example.com"},  # no tenantId at Dub
    ]
    sandbox = make_sandbox(seed=seed)
    rows = [("bob@example.com", "t-ann")]  # Bob's email, Ann's tenantId
    rows += [(f"new{n}@example.com", f"t-{n}") for n in range(padding)]
    path = roster(tmp_path / "in.csv", rows)
    report = tmp_path / "plan.csv"
    result = run_cli(
        ["plan", str(path), "-p", "dub", "--base-url", sandbox.base_url, "--report", str(report)]
    )
    assert ("lookup" if padding == 0 else "scan") in result.stdout, result.output
    assert statuses(report)[1] == "conflict"
