"""The suite's fixtures, for every tier: the machine's account and display variables are set
aside for the whole run; structlog and the provider keys are reset around every test; sandboxes
that stop themselves (`make_sandbox`), with each tier's defaults; the summary of the end-to-end
suite's key scan (here, where the controller of parallel workers sees it)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import settings
from support.accounts import keyed_options
from support.keyscan import SCAN
from support.sandboxes import MakeSandbox, SandboxOptions

from sync.registry import PLATFORMS, PROVIDERS
from sync.sandbox import Sandbox

# What the machine running the suite may hold that would change what a run does: an account's
# variables (a source platform's too) and how a terminal is drawn (a CI's narrow COLUMNS, forced
# colours). Set aside before any test module reads the environment; a test sets what it needs.
ACCOUNT_VARIABLES = frozenset(
    {provider.env_key for provider in PROVIDERS.values()}
    | {name for platform in PLATFORMS.values() for name in platform.env_keys}
)
DISPLAY_VARIABLES = frozenset(
    {
        "COLUMNS",
        "LINES",
        "FORCE_COLOR",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
    }
)
for _name in ACCOUNT_VARIABLES | DISPLAY_VARIABLES:
    os.environ.pop(_name, None)

# No per-example deadline: a wall-clock limit on a shared 2-core machine fails on load, not on
# the code (speed is measured in bench/, never asserted in tests).
settings.register_profile("partner-sync", deadline=None)
settings.load_profile("partner-sync")


TESTS = Path(__file__).resolve().parent
UNIT_TIER = TESTS / "unit"
# The tiers that drive the CLI: their sandboxes accept only each provider's test key and
# enforce no limit. The sandbox tier tries the emulators as they come: any well-formed key,
# each provider's own rate limit.
KEYED_TIERS = frozenset({"e2e", "hostile"})


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Six workers for the suite (most end-to-end tests wait on a sandbox, so two cores serve
    six); none for the in-process tier alone, where starting workers costs more than it saves."""
    given = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if given and all(path.is_relative_to(UNIT_TIER) for path in given):
        return 0
    return 6


@pytest.fixture
def sandbox_options(request: pytest.FixtureRequest) -> SandboxOptions:
    """The options each sandbox of this test starts with, by its tier (a test's own win)."""
    tier = request.path.resolve().relative_to(TESTS).parts[0]
    if tier in KEYED_TIERS:
        return keyed_options
    return lambda provider: {}


@pytest.fixture
def make_sandbox(sandbox_options: SandboxOptions) -> Iterator[MakeSandbox]:
    """Start sandboxes on free ports; stop them after the test and check for emulator bugs."""
    started: list[Sandbox] = []

    def make(provider: str = "dub", **options: Any) -> Sandbox:
        sandbox = Sandbox(provider, **{**sandbox_options(provider), **options}).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()
    for sandbox in started:
        assert sandbox.internal_errors == [], sandbox.internal_errors[0]


@pytest.fixture(autouse=True)
def _reset_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ACCOUNT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    structlog.reset_defaults()


# With pytest-xdist, each worker scans what its tests wrote; the totals travel to the controller
# (the keys as hashes, to count the distinct ones).
_WORKER_SCANS: list[dict[str, Any]] = []


def _scan_totals() -> dict[str, Any]:
    return {
        "bytes": SCAN.bytes_scanned,
        "sources": SCAN.sources,
        "keys": sorted(hashlib.sha256(key.encode()).hexdigest() for key in SCAN.keys),
        "leaks": len(SCAN.leaks),
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker
        output["key_scan"] = _scan_totals()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    totals = getattr(node, "workeroutput", {}).get("key_scan")
    if totals:
        _WORKER_SCANS.append(totals)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what the key scan of the end-to-end suite covered."""
    scans = [*_WORKER_SCANS, _scan_totals()]
    sources = sum(scan["sources"] for scan in scans)
    if sources:
        scanned = sum(scan["bytes"] for scan in scans)
        keys = len({key for scan in scans for key in scan["keys"]})
        leaks = sum(scan["leaks"] for scan in scans)
        terminalreporter.write_line(
            f"key scan: {scanned:,} bytes in {sources} outputs and files scanned for {keys} API "
            f"keys; keys found: {leaks}"
        )
