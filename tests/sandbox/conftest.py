"""Fixtures for the sandbox tests: clients that close (make_sandbox is the suite's, with the
sandboxes' own defaults: any well-formed key, each provider's rate limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.sandbox import Sandbox

TEST_TOKEN = "key_test"  # any well-formed bearer token is accepted by default

MakeClient = Callable[..., httpx.Client]


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
