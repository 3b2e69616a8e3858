"""Fixtures for the sandbox tests: clients that close, and a rate-limit clock the test sets
(make_sandbox is the suite's, with the sandboxes' own defaults: any well-formed key, each
provider's rate limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.clocks import SetClock

from sync.sandbox import Sandbox
from sync.sandbox.ratelimit import _KeyedLimiter

TEST_TOKEN = "key_test"  # any well-formed bearer token is accepted by default

MakeClient = Callable[..., httpx.Client]


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """httpx clients bound to a sandbox, with a bearer token unless told otherwise; their
    timeout only catches a hang (a test of timeouts gives its own)."""
    clients: list[httpx.Client] = []

    def make(
        sandbox: Sandbox, token: str | None = TEST_TOKEN, timeout: float = 60.0, **kwargs: Any
    ) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=timeout, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch) -> SetClock:
    """The clock of every rate limiter a sandbox of this test makes (epoch seconds), moved only
    by the test: a window's count, reset and Retry-After are then exact, however long the
    requests take on a loaded machine (the limiters' own clock parameter, as their unit tests
    give it)."""
    clock = SetClock(1_700_000_100.0)  # a multiple of 300 s: where windows of 1 s to 60 s begin
    monkeypatch.setattr(_KeyedLimiter.__init__, "__kwdefaults__", {"clock": clock})
    return clock
