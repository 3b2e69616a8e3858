"""`sync`, not only `plan`: hostile rows are never sent, and what is sent is cleaned as promised."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from support.sandboxes import MakeSandbox

from sync.sandbox import Sandbox

from .conftest import CORPUS, EXISTING, plan_args, run_in_process, run_subprocess


def _sync_args(roster: Path, sandbox: Sandbox, tmp_path: Path, report: Path) -> list[str]:
    """A sync of `roster` into a Dub sandbox; small corpus files are mostly bad rows on
    purpose, so the invalid-share guard (tested apart) is off."""
    return [
        "sync", str(roster), "--provider", "dub", "--base-url", sandbox.base_url,
        "--checkpoint", str(tmp_path / "run.checkpoint"), "--report", str(report),
        "--max-invalid-share", "1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        # Zero-width spaces, NBSP and a BOM around an email are trimmed before it is sent;
        # look-alike characters inside it stop the row.
        ("emails_lookalikes.csv", {"zw@example.com", "nb@example.com", "bom@example.com"}),
        ("ragged_too_many.csv", {"r1@example.com", "r3@example.com"}),
        ("unbalanced_quote_swallows_rows.csv", {"s1@example.com", "s5@example.com"}),
        ("formulas.csv", {f"fx{n}@example.com" for n in (2, 3, 4, 5, 7)} | {"-fx6@example.com"}),
    ],
)
def test_sync_sends_only_the_good_rows_cleaned(
    name: str, sent: set[str], make_sandbox: MakeSandbox, tmp_path: Path
):
    report = tmp_path / "report.csv"
    sandbox = make_sandbox("dub", seed=EXISTING)
    run = run_subprocess(_sync_args(CORPUS / name, sandbox, tmp_path, report))
    created = {p["email"] for p in sandbox.partners()} - {p["email"] for p in EXISTING}
    assert run.code == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert created == sent
    with report.open(newline="", encoding="utf-8") as handle:
        statuses = [line["status"] for line in csv.DictReader(handle)]
    assert statuses.count("created") == len(sent)
    assert "create" not in statuses and "pending" not in statuses


RAGGED = (
    "email,tenant_id,first_name,last_name\n"
    "g1@example.com,g-1,Gus,One\n"
    "g2@example.com,g-2,Gus, Jr,Two\n"  # an unquoted comma in the first name
    "g3@example.com,g-3,Gus\n"  # cut short: the missing value could be the tenant id's
    "\n"
    "not-an-email,g-4,Gus,Four\n"  # invalid by the schema, not by the reader
    "g5@example.com,g-5,Gus,Five\n"
)


def test_invalid_rows_keep_their_email_and_tenant_id_even_when_the_reader_could_not_split_them(
    plan_sandbox: Sandbox, make_sandbox: MakeSandbox, tmp_path: Path
):
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED, encoding="utf-8")
    expected = {
        "1": ("create", "g1@example.com", "g-1"),
        "2": ("invalid", "g2@example.com", "g-2"),
        "3": ("invalid", "g3@example.com", ""),  # said only when every reading agrees
        "5": ("invalid", "not-an-email", "g-4"),  # row 4 is the blank line
        "6": ("create", "g5@example.com", "g-5"),
    }
    plan_report = tmp_path / "plan.csv"
    run = run_in_process(plan_args(path, plan_sandbox, plan_report))
    assert run.code == 1 and run.escaped is None, run.stderr[-2000:]
    with plan_report.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert {line["row"]: (line["status"], line["email"], line["tenant_id"]) for line in lines} == (
        expected
    )
    assert [line["field"] for line in lines if line["row"] in ("2", "3")] == ["row", "row"]

    # `sync` reports them alike, from the same validation.
    report = tmp_path / "sync.csv"
    sandbox = make_sandbox("dub", seed=EXISTING)
    run = run_subprocess(_sync_args(path, sandbox, tmp_path, report))
    assert run.code == 1, run.stderr[-2000:]
    with report.open(newline="", encoding="utf-8") as handle:
        synced = {
            line["row"]: (line["status"], line["email"], line["tenant_id"])
            for line in csv.DictReader(handle)
        }
    assert synced == {
        row: ("created" if status == "create" else status, email, tenant)
        for row, (status, email, tenant) in expected.items()
    }
