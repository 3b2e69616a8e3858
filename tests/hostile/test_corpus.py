"""Every file in the hostile corpus, through the real CLI's `plan` against the Dub sandbox.

Each `corpus/NAME.expect.toml` says what a user should see: a file problem (exit 3, one line
that says what to fix, not one request sent) or one outcome per row. See README.md.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox import Sandbox

from .conftest import CORPUS, Run, plan_args, run_in_process, run_subprocess

HEADER = "email,first_name,last_name,tenant_id\n"
TEN_MB = 10 * 1024 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# No report line or message may grow with the input: a 10 MB cell is shown cut short.
LONGEST_LINE = 4096


def _ten_mb_field(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("email,first_name,last_name,tenant_id,description\n")
        handle.write("big1@example.com,Bo,One,big-1,short\n")
        handle.write(f"big2@example.com,Bo,Two,big-2,{'d' * TEN_MB}\n")
        handle.write(f"{'e' * TEN_MB},Bo,Three,big-3,short\n")
        handle.write("big4@example.com,Bo,Four,big-4,short\n")


def _very_long_line(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        handle.write("long1@example.com,Lo,One,long-1\n")
        handle.write("long2@example.com,Lo,Two,long-2," + ",".join(["x"] * 200_000) + "\n")
        handle.write("long3@example.com,Lo,Three,long-3\n")


def _wide_header(path: Path) -> None:
    extra = [f"col{n}" for n in range(4996)]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(["email", "first_name", "last_name", "tenant_id", *extra]) + "\n")
        for n in (1, 2):
            cells = [f"w{n}@example.com", "Wi", f"De{n}", f"w-{n}", *(["v"] * len(extra))]
            handle.write(",".join(cells) + "\n")


GENERATORS: dict[str, Callable[[Path], None]] = {
    "ten_mb_field": _ten_mb_field,
    "very_long_line": _very_long_line,
    "wide_header": _wide_header,
}


@dataclass
class Case:
    """One corpus file and what a user should see when they plan it."""

    name: str
    about: str
    exit: int
    args: list[str] = field(default_factory=list)
    mapping: str | None = None
    stderr: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    rows: dict[int, dict[str, str]] | None = None
    requests: int | None = None
    generate: str | None = None
    subprocess: bool = False

    @classmethod
    def load(cls, path: Path) -> Case:
        spec: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        rows = spec.pop("rows", None)
        if rows is not None:
            rows = {
                int(row): ({"status": expected} if isinstance(expected, str) else dict(expected))
                for row, expected in rows.items()
            }
        return cls(name=path.name.removesuffix(".expect.toml"), rows=rows, **spec)

    def input_path(self, tmp_path: Path) -> Path:
        if self.generate is None:
            return CORPUS / self.name
        path = tmp_path / self.name
        GENERATORS[self.generate](path)
        return path

    def extra_args(self) -> list[str]:
        mapping = ["--mapping", str(CORPUS / self.mapping)] if self.mapping else []
        return [*self.args, *mapping]


CASES = [Case.load(path) for path in sorted(CORPUS.glob("*.expect.toml"))]


def test_the_corpus_is_big_and_every_file_has_its_expectation():
    inputs = {
        path.name
        for path in CORPUS.iterdir()
        if not path.name.endswith((".expect.toml", ".mapping.toml"))
    }
    expected = {case.name for case in CASES if case.generate is None}
    assert inputs == expected
    assert len(CASES) >= 30
    file_problems = [case for case in CASES if case.exit == 3]
    row_problems = [case for case in CASES if case.rows is not None]
    assert len(file_problems) + len(row_problems) == len(CASES)
    for case in file_problems:
        assert case.stderr, f"{case.name}: a file problem must name its message"
        assert case.rows is None, f"{case.name}: a stopped file has no rows"


def check(case: Case, run: Run, report: Path, sandbox: Sandbox, requests: int) -> None:
    """Assert that one run of `case` ended as its expectation says."""
    context = f"{case.name}: exit {run.code}\n{run.stdout}\n{run.stderr[-3000:]}"
    assert run.escaped is None, f"{case.name}: {run.escaped!r}"
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, context
    assert run.code == case.exit, context
    for fragment in case.stdout:
        assert fragment in run.stdout, context
    if case.exit == 3:
        errors = [line for line in run.stderr.splitlines() if line.startswith("partner-sync:")]
        assert len(errors) == 1, context
        (error,) = errors
        assert error.startswith("partner-sync: error: ") and len(error) < 2000, context
        for fragment in case.stderr:
            assert fragment in error, context
        assert requests == 0, f"{case.name}: a file problem must stop before any request"
        assert not report.exists(), f"{case.name}: a stopped run writes no report"
        return
    for fragment in case.stderr:
        assert fragment in run.stderr, context
    if case.requests is not None:
        assert requests == case.requests, context
    assert case.rows is not None
    lines = report.read_text(encoding="utf-8").splitlines()
    assert max(map(len, lines)) < LONGEST_LINE, f"{case.name}: a report line grew with the input"
    assert all(len(line) < LONGEST_LINE for line in run.stdout.splitlines()), context
    with report.open(newline="", encoding="utf-8") as handle:
        outcomes = {int(line["row"]): line for line in csv.DictReader(handle)}
    assert sorted(outcomes) == sorted(case.rows), f"{case.name}: rows {sorted(outcomes)}"
    for row, expected in case.rows.items():
        got = outcomes[row]
        where = f"{case.name} row {row}: {got}"
        assert got["status"] == expected["status"], where
        if got["status"] == "invalid":
            assert got["field"], f"{where}: an invalid row must name its field"
        for column in ("field", "email", "tenant_id", "remote_id"):
            if column in expected:
                assert got[column] == expected[column], where
        if "message" in expected:
            assert expected["message"] in got["message"], where
    for line in outcomes.values():
        for value in line.values():
            assert not value.startswith(FORMULA_STARTS), f"{case.name}: formula cell {value!r}"
    assert sandbox.stats.creates_committed == 0


def run_case(case: Case, sandbox: Sandbox, tmp_path: Path, runner: Callable[..., Run]) -> None:
    report = tmp_path / "report.csv"
    args = plan_args(case.input_path(tmp_path), sandbox, report, *case.extra_args())
    before = sandbox.stats.total
    run = runner(args)
    check(case, run, report, sandbox, sandbox.stats.total - before)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_file(case: Case, plan_sandbox: Sandbox, tmp_path: Path):
    run_case(case, plan_sandbox, tmp_path, run_in_process)


SUBPROCESS_CASES = [case for case in CASES if case.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[case.name for case in SUBPROCESS_CASES])
def test_corpus_file_in_its_own_process(case: Case, plan_sandbox: Sandbox, tmp_path: Path):
    run_case(case, plan_sandbox, tmp_path, run_subprocess)
