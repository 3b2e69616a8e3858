from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from sync.errors import UsageError
from sync.models import Outcome, Status
from sync.report import write_report

OUTCOMES = [
    Outcome(row=1, status=Status.CREATED, remote_id="pn_1", email="a@x.com"),
    Outcome(
        row=2, status=Status.INVALID, field="name", message='=HYPERLINK("http://evil")', email="@b"
    ),
]


def test_csv_report_neutralises_formulas_and_is_private(tmp_path: Path):
    path = tmp_path / "r.csv"
    write_report(path, OUTCOMES)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["1", "2"]
    assert rows[0]["status"] == "created" and rows[0]["remote_id"] == "pn_1"
    assert rows[1]["message"].startswith("'=") and rows[1]["email"] == "'@b"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_jsonl_report_keeps_values_as_they_are(tmp_path: Path):
    path = tmp_path / "r.jsonl"
    write_report(path, OUTCOMES)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[1]["message"].startswith("=") and lines[1]["row"] == 2


def test_unknown_extension_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match=r"\.csv or \.jsonl"):
        write_report(tmp_path / "r.xlsx", OUTCOMES)


def test_a_carriage_return_in_a_value_does_not_split_the_csv_row(tmp_path: Path):
    path = tmp_path / "r.csv"
    write_report(path, [Outcome(row=1, status=Status.INVALID, email="a\r@b", field="email")])
    with path.open(newline="", encoding="utf-8") as handle:
        (line,) = list(csv.DictReader(handle))
    assert line["row"] == "1" and line["email"] == "a\r@b"
