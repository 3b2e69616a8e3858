"""End-to-end fixtures: the real CLI (in this process, or its own) against a sandbox over loopback.

Every provider has a `Case`: its key variable and a key that looks real (so that the byte scans
would find a leak), its seed for `samples/roster.csv` and what the sample ends as.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import runs
from support.accounts import DUB_KEY, KEYS, PARTNERO_KEY, PROMOTEKIT_KEY, cli_env
from support.keyscan import SCAN
from support.runs import ROOT, SAMPLES, Run, ScannedProcess
from support.sandboxes import MakeSandbox

from sync.sandbox import Sandbox, load_seed

__all__ = ["DUB_KEY", "PARTNERO_KEY", "PROMOTEKIT_KEY", "ROOT", "SAMPLES", "Run", "cli_env"]
# The suite's sandboxes enforce no limit; the CLI paces itself at this (Dub's default).
RATE_LIMIT = "1200"


def _statuses(**rows: Sequence[int]) -> dict[int, str]:
    return {row: status for status, numbers in rows.items() for row in numbers}


_CREATED = [1, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 26, 27]


@dataclass(frozen=True)
class Case:
    """One provider as the end-to-end tests drive it."""

    name: str
    expected: Mapping[int, str]  # each row of samples/roster.csv after `sync`
    id_pattern: str  # the remote id of a partner the sync created

    @property
    def env_key(self) -> str:
        return KEYS[self.name][0]

    @property
    def key(self) -> str:
        return KEYS[self.name][1]

    @property
    def seed(self) -> Path:
        return SAMPLES / f"{self.name}_existing.json"

    @property
    def planned(self) -> dict[int, str]:
        """What `plan` says: `create` for rows a sync creates or finds taken only on creating."""
        return {
            row: "create"
            if status in ("created", "invited") or row in self.taken_at_create
            else status
            for row, status in self.expected.items()
        }

    @property
    def taken_at_create(self) -> frozenset[int]:
        # Rows whose clash only the create shows. PromoteKit's taken ref_code (row 17) is found
        # by `plan` through the list's ref_code filter, so none are left here.
        return frozenset()

    def count(self, status: str) -> int:
        return sum(1 for value in self.expected.values() if value == status)


CASES = {
    "dub": Case(
        "dub",
        _statuses(
            created=[*_CREATED, 17],
            exists=[2, 9, 10, 16],
            conflict=[18, 19],
            duplicate=[20, 21],
            invalid=[22, 23, 24, 25],  # 23: Dub checks the country code
        ),
        r"pn_[0-9A-Z]{24}",
    ),
    "partnero": Case(
        "partnero",
        _statuses(
            # Every Partnero partner has an id: Henry (16) is seeded with his, so the
            # "email matches a partner without tenant id" case cannot happen here.
            created=[*_CREATED, 17, 23],
            exists=[2, 9, 10, 16],
            conflict=[18, 19],
            duplicate=[20, 21],
            invalid=[22, 24, 25],
        ),
        r"crm-\d{4}",  # the roster's own id, kept as Partnero's partner id
    ),
    "promotekit": Case(
        "promotekit",
        _statuses(
            # No tenant id: Jack (18) and Zoe (19), tenant conflicts elsewhere, exist by email.
            # Row 17's ref_code is another affiliate's: a conflict found on creating.
            created=[*_CREATED, 23],
            exists=[2, 9, 10, 16, 18, 19],
            conflict=[17],
            duplicate=[20, 21],
            invalid=[22, 24, 25],
        ),
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    ),
}
PROVIDER_NAMES = list(CASES)


def run_cli(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    process: bool = False,
    cwd: Path = ROOT,
) -> Run:
    """The CLI in this process (`process`: its own), with Dub's test key unless `env` says."""
    env = env if env is not None else cli_env()
    return runs.run_cli(args, env, timeout=timeout, process=process, cwd=cwd)


def start_cli(
    args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> ScannedProcess:
    """The CLI as its own process in the background, for signals and kills."""
    return runs.start_cli(args, env if env is not None else cli_env(), cwd=cwd)


@pytest.fixture(autouse=True)
def _scan_written_files(tmp_path: Path) -> Iterator[None]:
    """After each end-to-end test, every file the tool wrote is scanned for keys."""
    given = {path for path in tmp_path.rglob("*") if path.is_file()}
    yield
    SCAN.scan_tree(tmp_path, skip=given)
    assert SCAN.leaks == [], SCAN.leaks


def sync_args(
    sandbox: Sandbox,
    tmp_path: Path,
    input_path: Path = SAMPLES / "roster.csv",
    *extra: str,
    command: str = "sync",
    report: str = "report.csv",
    rate_limit: str | None = RATE_LIMIT,
) -> list[str]:
    """A `sync` (or `plan`) of `input_path` into the sandbox's provider, with a report in
    `tmp_path`; `rate_limit` None leaves the provider's default budget."""
    args = [
        command,
        str(input_path),
        "--provider",
        sandbox.provider,
        "--base-url",
        sandbox.base_url,
        "--report",
        str(tmp_path / report),
    ]
    if rate_limit is not None:
        args += ["--rate-limit", rate_limit]
    if command == "sync":
        args += ["--checkpoint", str(tmp_path / "run.checkpoint")]
    return [*args, *extra]


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def statuses(path: Path) -> dict[int, str]:
    return {int(line["row"]): line["status"] for line in read_report(path)}


def email_counts(sandbox: Sandbox) -> Counter[str]:
    # Dub's partners, Partnero's partners and PromoteKit's affiliates all carry a top-level email.
    return Counter(p["email"].strip().casefold() for p in sandbox.partners())


def write_roster(
    path: Path, count: int, *, start: int = 0, tenant_ids: bool = True, **columns: str
) -> list[str]:
    """`count` new partners, with tenant ids unless told otherwise, plus constant `columns`."""
    emails = [f"partner{n:06d}@example.com" for n in range(start, start + count)]
    header = ["email", "first_name", "last_name", *(["tenant_id"] if tenant_ids else []), *columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n, email in zip(range(start, start + count), emails, strict=True):
            tenant = [f"crm-{n}"] if tenant_ids else []
            writer.writerow([email, f"First{n}", f"Last{n}", *tenant, *columns.values()])
    return emails


@pytest.fixture(params=PROVIDER_NAMES)
def case(request: pytest.FixtureRequest) -> Case:
    """Each provider in turn."""
    return CASES[request.param]


@pytest.fixture
def seeded(case: Case, make_sandbox: MakeSandbox) -> Sandbox:
    """The case's sandbox, seeded for samples/roster.csv."""
    return make_sandbox(case.name, seed=load_seed(case.seed))


def settled_commits(sandbox: Sandbox, *, quiet: float = 0.5) -> int:
    """The sandbox's committed creates once it has received nothing for `quiet` seconds: a
    create a stopped or killed run sent just before it ended may still be arriving."""
    seen = (sandbox.stats.total, sandbox.stats.creates_committed)
    while True:
        time.sleep(quiet)
        now = (sandbox.stats.total, sandbox.stats.creates_committed)
        if now == seen:
            return now[1]
        seen = now


def assert_resumed(report: Path, stdout: str, *, rows: int, killed_at: int) -> None:
    """What the run that finished a killed one of `rows` creates reports: its own creates are
    those the killed run left undone; the killed run's (`killed_at`, also any whose answer it
    never read) are `exists`, created by an earlier run; the summary adds them up."""
    lines = read_report(report)
    statuses = Counter(line["status"] for line in lines)
    assert statuses == Counter(created=rows - killed_at, exists=killed_at), statuses
    assert all(
        line["message"].startswith("created by an earlier run at ")
        for line in lines
        if line["status"] == "exists"
    )
    assert f"created {rows - killed_at} this run ({killed_at} by earlier runs)" in stdout, stdout
