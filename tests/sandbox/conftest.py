"""Fixtures for the sandbox tests: sandboxes that stop themselves, and clients that close."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.sandbox import Sandbox

TEST_TOKEN = "key_test"  # any well-formed bearer token is accepted by default

MakeSandbox = Callable[..., Sandbox]
MakeClient = Callable[..., httpx.Client]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Start sandboxes on free ports; stop them after the test and check for emulator bugs."""
    started: list[Sandbox] = []

    def make(provider: str, **kwargs: Any) -> Sandbox:
        sandbox = Sandbox(provider, **kwargs).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()
    for sandbox in started:
        assert sandbox.internal_errors == [], sandbox.internal_errors[0]


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """httpx clients bound to a sandbox, with a bearer token unless told otherwise."""
    clients: list[httpx.Client] = []

    def make(
        sandbox: Sandbox, token: str | None = TEST_TOKEN, timeout: float = 5.0, **kwargs: Any
    ) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=timeout, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
