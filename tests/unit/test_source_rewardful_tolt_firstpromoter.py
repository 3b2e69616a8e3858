"""Rewardful, Tolt and FirstPromoter as migration sources, in-process over MockTransport:
auth headers, paging to the end, the code of each partner, statuses, never-ending listings."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync.errors import ProviderError
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.registry import PLATFORMS
from sync.retry import RetryPolicy
from sync.settings import resolve_settings
from sync.sources import firstpromoter as fp
from sync.sources import rewardful as rw
from sync.sources import tolt
from sync.sources.platform import Reading, connect

FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
Handler = Callable[[httpx.Request], httpx.Response]


def run(read: Callable[[ProviderHTTP], Any], handler: Handler, headers: dict[str, str]) -> Any:
    async def go() -> Any:
        http = ProviderHTTP(
            provider_name="source",
            base_url="https://api.example.test/v1",
            headers=headers,
            limiter=RateLimiter(1_000_000),
            error_message=lambda status, body: str(body),
            is_account_error=lambda status, body: status in (401, 403),
            transport=httpx.MockTransport(handler),
        )
        try:
            return await read(http), http
        finally:
            await http.aclose()

    return asyncio.run(go())


# --- Rewardful ------------------------------------------------------------------------------


def affiliate(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"aff-{n}",
        "email": f"a{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "state": "active",
        "links": [{"id": f"l{n}", "token": f"Code_{n}"}],
        "created_at": f"2024-01-01T00:00:{n % 60:02d}Z",
        **fields,
    }


def test_rewardful_auth_is_basic_with_the_secret_and_an_empty_password() -> None:
    header = rw.auth_headers("sk_rw_123")["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"sk_rw_123:"


def test_rewardful_pages_to_next_page_null_with_links_expanded() -> None:
    seen: list[httpx.Request] = []
    data = [affiliate(n) for n in range(250)]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        chunk = data[(page - 1) * limit : page * limit]
        following = page + 1 if page * limit < len(data) else None
        return httpx.Response(200, json={"pagination": {"next_page": following}, "data": chunk})

    rows, _ = run(lambda h: rw.read_roster(h, FAST), handler, rw.auth_headers("s"))
    assert len(rows) == 250 and len(seen) == 3  # ceil(250 / 100): no extra call
    assert all(r.url.params.get_list("expand[]") == ["links"] for r in seen)
    assert seen[0].headers["Authorization"] == rw.auth_headers("s")["Authorization"]
    assert [row["referral_code"] for row in rows[:2]] == ["Code_0", "Code_1"]


def test_rewardful_without_pagination_reads_on_to_an_empty_page() -> None:
    data = [affiliate(n) for n in range(120)]

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"data": data[(page - 1) * 100 : page * 100]})

    rows, http = run(lambda h: rw.read_roster(h, FAST), handler, {})
    assert len(rows) == 120 and http.calls["list"] == 3


@pytest.mark.parametrize(
    "answer",
    [
        lambda page: {"pagination": {"next_page": page + 1}, "data": [affiliate(1)]},
        lambda page: {"pagination": {"next_page": 1}, "data": [affiliate(page)]},
    ],
    ids=["same-page-again", "next-page-points-back"],
)
def test_rewardful_refuses_a_listing_that_never_ends(answer: Callable[[int], Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer(int(request.url.params["page"])))

    with pytest.raises(ProviderError, match="would never end"):
        run(lambda h: rw.read_roster(h, FAST), handler, {})


def test_rewardful_status_and_code_rules() -> None:
    row = rw.to_neutral(affiliate(1, state="Disabled", links=[{"token": ""}, {"token": "second"}]))
    assert row["status"] == "disabled" and row["referral_code"] == "second"
    assert rw.to_neutral(affiliate(2, state=None))["status"] == "active"
    assert rw.to_neutral(affiliate(3, links=[]))["referral_code"] is None
    paid = rw.to_neutral(affiliate(4, paypal_email="pay@example.com"))
    assert paid["payout_email"] == "pay@example.com" and paid["name"] == "First4 Last4"


# --- Tolt -----------------------------------------------------------------------------------


def cursor_listing(records: list[dict[str, Any]], request: httpx.Request) -> httpx.Response:
    limit = int(request.url.params["limit"])
    after = request.url.params.get("starting_after")
    start = 0 if after is None else [r["id"] for r in records].index(after) + 1
    chunk = records[start : start + limit]
    more = start + limit < len(records)
    return httpx.Response(200, json={"success": True, "has_more": more, "data": chunk})


def test_tolt_reads_partners_and_links_by_cursor_and_joins_codes_by_partner_id() -> None:
    partners = [
        {
            "id": f"part_{n}",
            "email": f"t{n}@example.com",
            "first_name": "T",
            "last_name": str(n),
            "status": "active" if n % 3 else "suspended",
            "country_code": "DE",
        }
        for n in range(150)
    ]
    links = [
        {
            "id": f"lnk_{n}",
            "param": "ref",
            "value": f"john doe {n}",
            "partner_id": f"part_{n}",
            "created_at": "2024-01-02T00:00:00Z",
        }
        for n in range(150)
    ]
    links.append(
        {
            "id": "lnk_old",
            "param": "ref",
            "value": "first-one",
            "partner_id": "part_1",
            "created_at": "2024-01-01T00:00:00Z",
        }
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.params["program_id"] == "prg_1"
        assert request.headers["Authorization"] == "Bearer tk_1"
        return cursor_listing(
            partners if request.url.path.endswith("/partners") else links, request
        )

    rows, _ = run(lambda h: tolt.read_roster(h, FAST, "prg_1"), handler, tolt.auth_headers("tk_1"))
    assert len(rows) == 150 and len(seen) == 4  # 2 pages of partners + 2 of links
    assert seen[1].url.params["starting_after"] == "part_99"
    by_id = {row["source_id"]: row for row in rows}
    assert by_id["part_2"]["referral_code"] == "john doe 2"  # exact: not slugified
    assert by_id["part_1"]["referral_code"] == "first-one"  # the earliest link
    assert by_id["part_0"]["status"] == "suspended" and by_id["part_1"]["status"] == "active"
    assert by_id["part_0"]["country"] == "DE"


def test_tolt_refuses_a_cursor_that_comes_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("starting_after")
        item = {"id": "part_2" if after == "part_1" else "part_1"}
        return httpx.Response(200, json={"success": True, "has_more": True, "data": [item]})

    with pytest.raises(ProviderError, match="would never end"):
        run(lambda h: tolt.read_listing(h, FAST, "/partners", "prg"), handler, {})


def test_tolt_an_empty_page_ends_whatever_has_more_says() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "has_more": True, "data": []})

    rows, http = run(lambda h: tolt.read_listing(h, FAST, "/links", "prg"), handler, {})
    assert rows == [] and http.calls["list"] == 1


# --- FirstPromoter --------------------------------------------------------------------------


def promoter(n: int, campaigns: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": n,
        "email": f"f{n}@example.com",
        "name": f"Whole Name{n}",
        "profile": {"first_name": f"F{n}", "last_name": f"L{n}", "country": "FR"},
        "promoter_campaigns": campaigns,
        "joined_at": "2024-01-01T00:00:00Z",
        **fields,
    }


def test_firstpromoter_sends_bearer_and_account_id_and_pages_to_an_empty_data() -> None:
    data = [promoter(n, [{"state": "accepted", "ref_token": f"tok{n}"}]) for n in range(230)]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page, size = int(request.url.params["page"]), int(request.url.params["per_page"])
        return httpx.Response(200, json={"data": data[(page - 1) * size : page * size]})

    rows, _ = run(lambda h: fp.read_roster(h, FAST), handler, fp.auth_headers("k", "acc_9"))
    assert len(rows) == 230 and len(seen) == 4  # 3 pages and the empty one that ends
    assert seen[0].headers["Authorization"] == "Bearer k"
    assert seen[0].headers["Account-ID"] == "acc_9"
    assert rows[5]["referral_code"] == "tok5" and rows[5]["first_name"] == "F5"


def test_firstpromoter_refuses_the_same_page_forever() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [promoter(1, [])]})

    with pytest.raises(ProviderError, match="would never end"):
        run(lambda h: fp.read_roster(h, FAST), handler, {})


def test_firstpromoter_the_accepted_campaign_decides_status_and_code() -> None:
    both = promoter(
        1,
        [
            {"state": "pending", "ref_token": "pending-one"},
            {"state": "accepted", "ref_token": "the-code"},
        ],
    )
    assert fp.to_neutral(both)["status"] == "active"
    assert fp.to_neutral(both)["referral_code"] == "the-code"
    blocked = fp.to_neutral(promoter(2, [{"state": "blocked", "ref_token": "b"}]))
    assert blocked["status"] == "blocked" and blocked["referral_code"] == "b"
    assert fp.to_neutral(promoter(3, []))["status"] == "not_set"
    archived = promoter(4, [{"state": "accepted", "ref_token": "x"}], archived_at="2025-01-01")
    assert fp.to_neutral(archived)["status"] == "archived"
    assert fp.to_neutral(promoter(5, [], cust_id="cus_5"))["external_id"] == "cus_5"


# --- budgets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "per_minute"), [("rewardful", 90), ("tolt", 1500), ("firstpromoter", 400)]
)
def test_each_source_reads_under_its_own_published_budget(name: str, per_minute: int) -> None:
    source = PLATFORMS[name]
    env = {key: "x" for key in source.env_keys}

    def reading(rate: float | None) -> Any:
        options = {
            "provider": "dub",
            "source": name,
            "base_url": "https://api.example.test",
            "from_base_url": "https://api.example.test",
            "from_rate_limit": rate,
        }
        resolved = resolve_settings(options, env={**env, "DUB_API_KEY": "dub_x"})
        assert isinstance(resolved.source, Reading)
        return resolved.source

    client = connect(reading(None))
    assert client.http.limiter.per_minute == per_minute
    assert not client.http.limiter.probing  # published: kept, never probed upwards
    asyncio.run(client.http.aclose())
    overridden = connect(reading(30))  # --from-rate-limit
    assert overridden.http.limiter.per_minute == 30
    asyncio.run(overridden.http.aclose())


def test_rewardful_s_budget_never_puts_more_than_45_requests_in_30_seconds() -> None:
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(rw.DEFAULT_RATE_LIMIT, clock=lambda: clock[0], sleep=sleep)
    slots = []

    async def go() -> None:
        for _ in range(200):
            await limiter.acquire()
            slots.append(clock[0])

    asyncio.run(go())
    assert max(sum(1 for s in slots if start <= s < start + 30) for start in slots) <= 45
