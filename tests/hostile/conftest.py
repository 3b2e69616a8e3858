"""Hostile-input fixtures: one Dub sandbox for the whole suite, and the CLI run two ways."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from support.runs import Run, keyless_environ, run_cli

from sync.sandbox import Sandbox

__all__ = ["Run"]
CORPUS = Path(__file__).resolve().parent / "corpus"
DUB_KEY = "dub_test_H0stileInputKey7Qz2"

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


def _environment() -> dict[str, str]:
    return {**keyless_environ(), "DUB_API_KEY": DUB_KEY}


def run_in_process(args: Sequence[str]) -> Run:
    """The CLI through click's runner: the same code path as the command, without a new Python."""
    return run_cli(args, _environment())


def run_subprocess(args: Sequence[str], *, timeout: float = 120) -> Run:
    """The real command in its own process, as a user or a cron job runs it."""
    return run_cli(args, _environment(), timeout=timeout, process=True)


@pytest.fixture(scope="session")
def dub_sandbox() -> Iterator[Sandbox]:
    """One Dub sandbox for the suite: `plan` only reads, so runs cannot disturb each other."""
    with Sandbox("dub", api_key=DUB_KEY, seed=EXISTING, rate_limit=0) as sandbox:
        yield sandbox
    assert sandbox.internal_errors == []
