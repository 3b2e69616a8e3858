"""The provider HTTP client in-process, over httpx.MockTransport: no socket, no sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from sync.providers.dub import Dub
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter

KEY = "dub_test_9Zx8Yw7Vu6Ts5Rq4Po3"
BASE_URL = "https://api.example.test"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def client(handler: Handler, **options: Any) -> ProviderHTTP:
    """A Dub client whose every request goes to `handler`; no budget to wait for."""
    provider = Dub()
    return ProviderHTTP(
        provider_name=provider.name,
        base_url=BASE_URL,
        headers=provider.auth_headers(KEY),
        limiter=RateLimiter(1_000_000),
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        transport=httpx.MockTransport(handler),
        **options,
    )


def call(http: ProviderHTTP, method: str = "GET", path: str = "/partners", **kw: Any) -> Any:
    async def go() -> Any:
        try:
            return await http.request(method, path, kind=kw.pop("kind", "list"), **kw)
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_requests_go_through_the_injected_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "pn_1", "email": "a@example.com"}])

    body = call(client(handler), params={"page": 1})
    assert body == [{"id": "pn_1", "email": "a@example.com"}]
    assert str(seen[0].url) == f"{BASE_URL}/partners?page=1"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
