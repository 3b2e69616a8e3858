"""A 1,000,000-row roster, generated at test time, through the real `plan` command."""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

import pytest
from support.sandboxes import MakeSandbox

from .conftest import plan_args, run_subprocess

ROWS = 1_000_000
# Hostile rows at known places: a ragged row, a bad email, a duplicate and a blank line.
RAGGED, BAD_EMAIL, DUPLICATE, BLANK = 250_000, 500_000, 750_000, 999_999


def write_roster(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("email,first_name,last_name,tenant_id\n")
        for n in range(1, ROWS + 1):
            if n == RAGGED:
                handle.write(f"p{n}@example.com,Pat,{n},t-{n},surplus\n")
            elif n == BAD_EMAIL:
                handle.write(f"p{n}@exаmple.com,Pat,{n},t-{n}\n")  # Cyrillic а
            elif n == DUPLICATE:
                handle.write(f"P1@Example.com,Pat,{n},t-{n}\n")
            elif n == BLANK:
                handle.write("\n")
            else:
                handle.write(f"p{n}@example.com,Pat,{n},t-{n}\n")


@pytest.mark.slow
def test_a_million_rows_each_get_one_outcome_with_two_requests(
    make_sandbox: MakeSandbox, tmp_path: Path
):
    roster = tmp_path / "million.csv"
    write_roster(roster)
    report = tmp_path / "report.csv"
    sandbox = make_sandbox("dub")
    started = time.monotonic()
    # A guard against a hang, not a speed limit (bench/ measures speed): the blank line sends
    # this file down the row-by-row path, which a loaded 2-core machine runs in minutes.
    run = run_subprocess(plan_args(roster, sandbox, report, "--rate-limit", "100000"), timeout=900)
    elapsed = time.monotonic() - started
    requests = sandbox.stats.total
    assert run.code == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert requests <= 2  # how many partners exist, and the one (empty) page of them
    with report.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    numbers = [int(line["row"]) for line in lines]
    assert numbers == [n for n in range(1, ROWS + 1) if n != BLANK]
    by_row = {int(line["row"]): line for line in lines if line["status"] != "create"}
    assert Counter(line["status"] for line in lines) == Counter(
        {"create": ROWS - 4, "invalid": 2, "duplicate": 1}
    )
    assert (
        by_row[RAGGED]["field"] == "row"
        and "line 250001 has 5 fields" in (by_row[RAGGED]["message"])
    )
    assert by_row[BAD_EMAIL]["field"] == "email" and "U+0430" in by_row[BAD_EMAIL]["message"]
    assert by_row[DUPLICATE]["message"] == "same email as row 1"
    print(f"plan of {ROWS} rows: {elapsed:.1f}s")
