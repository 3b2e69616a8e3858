"""`sync`, not only `plan`: hostile rows are never sent, and what is sent is cleaned as promised."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sync.sandbox import Sandbox

from .conftest import CORPUS, DUB_KEY, EXISTING, run_subprocess


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
def test_sync_sends_only_the_good_rows_cleaned(name: str, sent: set[str], tmp_path: Path):
    report = tmp_path / "report.csv"
    with Sandbox("dub", api_key=DUB_KEY, seed=EXISTING, rate_limit=0) as sandbox:
        run = run_subprocess(
            [
                "sync",
                str(CORPUS / name),
                "--provider",
                "dub",
                "--base-url",
                sandbox.base_url,
                "--checkpoint",
                str(tmp_path / "run.checkpoint"),
                "--report",
                str(report),
                # Small corpus files are mostly bad rows on purpose; the guard is tested apart.
                "--max-invalid-share",
                "1",
            ]
        )
        created = {p["email"] for p in sandbox.partners()} - {p["email"] for p in EXISTING}
        assert sandbox.internal_errors == []
    assert run.code == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert created == sent
    with report.open(newline="", encoding="utf-8") as handle:
        statuses = [line["status"] for line in csv.DictReader(handle)]
    assert statuses.count("created") == len(sent)
    assert "create" not in statuses and "pending" not in statuses
