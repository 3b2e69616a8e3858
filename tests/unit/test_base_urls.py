"""Each provider's base URL as its documentation writes it, with or without a trailing slash,
reaches the documented endpoint: one join of base URL and path, over httpx.MockTransport."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from sync.credentials import check_base_url
from sync.registry import get_provider
from sync.settings import Settings
from sync.sources.account import connect

# (provider, base URL as documented, a path its module sends, the URL that must be reached)
CASES = [
    ("dub", "https://api.dub.co", "/partners", "https://api.dub.co/partners"),
    ("partnero", "https://api.partnero.com/v1", "/v1/partners", "https://api.partnero.com/v1/partners"),
    ("partnero", "https://api.partnero.com", "/v1/partners", "https://api.partnero.com/v1/partners"),
    ("partnero", "https://proxy.example.test/partnero/v1", "/v1/partners:search",
     "https://proxy.example.test/partnero/v1/partners:search"),
    ("promotekit", "https://www.promotekit.com/api/v1", "/affiliates",
     "https://www.promotekit.com/api/v1/affiliates"),
]  # fmt: skip


def reached(provider_name: str, base_url: str, path: str) -> str:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.copy_with(query=None)))
        return httpx.Response(200, json={"data": []})

    provider = get_provider(provider_name)
    settings = Settings(
        input=Path("in.csv"),
        provider=provider,
        base_url=check_base_url(base_url),
        api_key=SecretStr("test-key"),
    )

    async def go() -> None:
        http = connect(settings, httpx.MockTransport(handler))
        try:
            await http.request("GET", path, kind="list")
        finally:
            await http.aclose()

    asyncio.run(go())
    return seen[0]


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(("provider", "base_url", "path", "expected"), CASES)
def test_a_documented_base_url_reaches_the_documented_endpoint(
    provider: str, base_url: str, path: str, expected: str, slash: str
):
    assert reached(provider, base_url + slash, path) == expected


@pytest.mark.parametrize("name", ["dub", "partnero", "promotekit"])
def test_the_default_base_url_is_the_documented_one(name: str):
    documented = {
        "dub": "https://api.dub.co",
        "partnero": "https://api.partnero.com/v1",
        "promotekit": "https://www.promotekit.com/api/v1",
    }
    assert get_provider(name).default_base_url == documented[name]
