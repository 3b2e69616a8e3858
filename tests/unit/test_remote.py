"""Reading an account's partners through the real providers' requests, over httpx.MockTransport:
the strategy choice, the full scan and the lookups, and the calls each costs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from support.mock_account import mock_client

from sync.index import ExistingPartners
from sync.models import Candidate
from sync.providers.base import Provider
from sync.providers.dub import Dub
from sync.remote import RemoteReader
from sync.retry import RetryPolicy

T = TypeVar("T")
POLICY = RetryPolicy(initial_wait=0.001, max_wait=0.001)


def dub_partner(n: int) -> dict[str, Any]:
    return {
        "id": f"pn_{n:04d}",
        "email": f"p{n}@example.com",
        "tenantId": f"crm-{n}",
        "createdAt": f"2025-01-01T00:00:{n % 60:02d}Z",
    }


class DubAccount:
    """Dub's count, sorted listing and lookups, over `count` partners; records every request."""

    def __init__(self, count: int, *, fail_first: dict[str, int] | None = None) -> None:
        self.partners = [dub_partner(n) for n in range(count)]
        self.requests: list[httpx.Request] = []
        self.fail_first = dict(fail_first or {})  # "page=2": answer 503 that many times first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = dict(request.url.params)
        if request.url.path == "/partners/count":
            return httpx.Response(200, json=len(self.partners))
        page = params.get("page")
        if page and self.fail_first.get(f"page={page}", 0) > 0:
            self.fail_first[f"page={page}"] -= 1
            return httpx.Response(503, json={"error": {"message": "try later"}})
        if page:
            size = int(params["pageSize"])
            start = (int(page) - 1) * size
            return httpx.Response(200, json=self.partners[start : start + size])
        found = [
            p for p in self.partners if all(p.get(key) == value for key, value in params.items())
        ]
        return httpx.Response(200, json=found)

    def lists(self) -> list[httpx.Request]:
        return [r for r in self.requests if "page" in r.url.params]


def reading(
    provider: Provider,
    handler: Callable[[httpx.Request], httpx.Response],
    act: Callable[[RemoteReader], Awaitable[T]],
    *,
    concurrency: int = 4,
) -> tuple[T, dict[str, int]]:
    """`act` on a reader of `handler`'s account; what it returned and the calls it made."""
    http = mock_client(provider, handler, policy=POLICY)

    async def go() -> T:
        try:
            return await act(RemoteReader(provider, http, POLICY, concurrency))
        finally:
            await http.aclose()

    result = asyncio.run(go())
    return result, dict(http.calls)


def ids(index: ExistingPartners) -> list[str]:
    """The remote ids of the partners the answers showed, in the order they came."""
    return [remote_id for _, _, remote_id in index.seen()]


def row(n: int, *, email: str | None = None, tenant: str | None = None) -> Candidate:
    address = email or f"p{n}@example.com"
    return Candidate(row=n, payload={"email": address}, email=address, tenant_id=tenant)


def test_few_rows_against_many_partners_are_looked_up():
    account = DubAccount(2_000)
    (strategy, existing), calls = reading(Dub(), account, lambda reader: reader.choose(5))
    assert strategy.name == "lookup" and existing == 2_000
    assert calls == {"count": 1}


def test_many_rows_against_few_partners_are_matched_by_a_scan():
    account = DubAccount(30)
    (strategy, existing), calls = reading(Dub(), account, lambda reader: reader.choose(500))
    assert strategy.name == "scan" and existing == 30
    assert calls == {"count": 1}


def test_a_scan_reads_every_page_in_creation_order_once_each():
    account = DubAccount(250)  # 100 a page: two full pages and a short one end the listing
    index, calls = reading(Dub(), account, lambda reader: reader.scan(250))
    assert len(index) == 250
    assert set(ids(index)) == {p["id"] for p in account.partners}
    pages = sorted(int(r.url.params["page"]) for r in account.lists())
    assert pages == [1, 2, 3]
    # Dub's default order moves partners between pages: every page asks for creation order.
    for request in account.lists():
        assert request.url.params["sortBy"] == "createdAt"
        assert request.url.params["sortOrder"] == "asc"
    assert calls == {"list": 3}


def test_a_page_answered_503_is_read_again_and_nobody_is_lost_or_doubled():
    account = DubAccount(250, fail_first={"page=2": 2})
    index, calls = reading(Dub(), account, lambda reader: reader.scan(250))
    assert len(index) == 250 and len(ids(index)) == len(set(ids(index))) == 250
    assert calls == {"list": 5}  # three pages, page 2 twice more


def test_a_lookup_by_email_that_finds_the_row_s_tenant_id_costs_one_call():
    account = DubAccount(10)
    index, calls = reading(Dub(), account, lambda reader: reader.look_up([row(3, tenant="crm-3")]))
    assert ids(index) == ["pn_0003"]
    assert calls == {"lookup": 1}


def test_a_lookup_whose_email_is_unknown_asks_for_the_tenant_id_too():
    account = DubAccount(10)
    new_email = row(3, email="someone.else@example.com", tenant="crm-3")
    index, calls = reading(Dub(), account, lambda reader: reader.look_up([new_email]))
    # The tenant id belongs to another partner: found, so the plan can call it a conflict.
    assert ids(index) == ["pn_0003"]
    assert calls == {"lookup": 2}
    asked = [dict(r.url.params) for r in account.requests]
    assert asked == [{"email": "someone.else@example.com"}, {"tenantId": "crm-3"}]


def test_lookups_of_many_rows_find_each_partner_once():
    account = DubAccount(50)
    rows = [row(n, tenant=f"crm-{n}") for n in range(0, 50, 5)]
    index, calls = reading(Dub(), account, lambda reader: reader.look_up(rows))
    assert sorted(ids(index)) == [f"pn_{n:04d}" for n in range(0, 50, 5)]
    assert calls == {"lookup": len(rows)}
