"""Hostile-input fixtures: one Dub sandbox for the whole suite, and the CLI run two ways."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from support.accounts import DUB_KEY, cli_env, keyed_options
from support.runs import Run, run_cli

from sync.sandbox import Sandbox

__all__ = ["DUB_KEY", "Run"]
CORPUS = Path(__file__).resolve().parent / "corpus"

# Partners that exist before every run: the corpus matches against them.
EXISTING = [
    {"email": "Existing.Partner@Example.com", "name": "Existing Partner", "tenantId": "crm-100"},
    {"email": "kim@example.org", "name": "Kim", "tenantId": "crm-200"},
]


def plan_args(input_path: Path, sandbox: Sandbox, report: Path, *extra: str) -> list[str]:
    return [
        "plan",
        str(input_path),
        "--provider",
        "dub",
        "--base-url",
        sandbox.base_url,
        "--report",
        str(report),
        "--json-logs",
        *extra,
    ]


def run_in_process(args: Sequence[str]) -> Run:
    """The CLI through click's runner: the same code path as the command, without a new Python."""
    return run_cli(args, cli_env())


def run_subprocess(args: Sequence[str], *, timeout: float = 120) -> Run:
    """The real command in its own process, as a user or a cron job runs it."""
    return run_cli(args, cli_env(), timeout=timeout, process=True)


@pytest.fixture(scope="session")
def plan_sandbox() -> Iterator[Sandbox]:
    """One Dub sandbox for the whole run, seeded with EXISTING: `plan` only reads, so runs
    cannot disturb each other (a `sync` takes its own, from make_sandbox)."""
    with Sandbox("dub", seed=EXISTING, **keyed_options("dub")) as sandbox:
        yield sandbox
    assert sandbox.internal_errors == []
