"""PartnerStack as a migration source, in-process: records to rows, cursors, auth, codes."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from sync.errors import ProviderError
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy
from sync.sources import partnerstack as ps

PUBLIC, SECRET = "pk_test_4Hs8Lq2Xw", "sk_test_9Vb3Nc7Rt"
BASE_URL = "https://api.example.test/api/v2"
FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)


def partnership(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "key": f"part_{n}",
        "email": f"p{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "approved_status": "approved",
        "address": {"country": "DE"},
        "created_at": 1_700_000_000_000 + n,
        **fields,
    }


def page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"data": {"has_more": has_more, "items": items}, "message": "ok", "status": 200}


def client(handler: Any) -> ProviderHTTP:
    return ProviderHTTP(
        provider_name="partnerstack",
        base_url=BASE_URL,
        headers=ps.auth_headers(PUBLIC, SECRET),
        limiter=RateLimiter(1_000_000),
        error_message=ps.error_message,
        is_account_error=lambda status, body: status in (401, 403),
        transport=httpx.MockTransport(handler),
    )


def run(coroutine_factory: Any, handler: Any) -> Any:
    async def go() -> Any:
        http = client(handler)
        try:
            return await coroutine_factory(http), http
        finally:
            await http.aclose()

    return asyncio.run(go())


# --- pure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://partnerlinks.io/abc123", "abc123"),
        ("https://partnerlinks.io/abc123/", "abc123"),
        ("https://example.com/go/Mixed_Case-7?utm=x", "Mixed_Case-7"),
        ("https://example.com/r/john%20doe", "john doe"),
        ("https://example.com/", None),
    ],
)
def test_the_code_is_the_last_path_segment_of_the_first_link(url: str, code: str | None) -> None:
    assert ps.code_from_links([{"url": url}, {"url": "https://x.example/other"}]) == code


def test_a_partner_without_links_has_no_code() -> None:
    assert ps.code_from_links([]) is None


@pytest.mark.parametrize(
    ("stated", "status"),
    [
        ("approved", "active"),
        ("Approved", "active"),
        ("pending", "pending"),
        ("declined", "declined"),
    ],
)
def test_status_is_active_or_the_sources_own_word(stated: str, status: str) -> None:
    assert ps.status_of({"key": "k", "approved_status": stated}, None) == status


def test_without_a_stated_approval_the_approved_listing_decides() -> None:
    approved = frozenset({"part_1"})
    assert ps.status_of({"key": "part_1"}, approved) == "active"
    assert ps.status_of({"key": "part_2"}, approved) == "not approved"


def test_a_partnership_becomes_a_neutral_row() -> None:
    record = partnership(1, address={"country": "United Kingdom"}, tags=["vip", "eu"])
    row = ps.to_neutral(record, "abc123")
    assert row["source_id"] == "part_1" and row["email"] == "p1@example.com"
    assert (row["first_name"], row["last_name"], row["name"]) == ("First1", "Last1", "First1 Last1")
    assert row["country"] == "GB"  # a country name becomes its code
    assert row["referral_code"] == "abc123" and row["status"] == "active"
    assert row["tags"] == "vip,eu"
    assert row["created_at"] == "2023-11-14T22:13:20.001000Z"


def test_an_unknown_country_name_is_dropped_not_guessed() -> None:
    assert ps.to_neutral(partnership(1, address={"country": "Atlantis"}), None)["country"] is None
    assert ps.to_neutral(partnership(1, address=None), None)["country"] is None


def test_basic_auth_is_public_key_then_secret_key() -> None:
    header = ps.auth_headers(PUBLIC, SECRET)["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == f"{PUBLIC}:{SECRET}"


# --- the cursor pager ---------------------------------------------------------------------


def test_the_pager_follows_the_last_key_until_has_more_is_false() -> None:
    pager = ps.CursorPager()
    assert len(pager.advance(page([partnership(1), partnership(2)], True))) == 2
    assert pager.cursor == "part_2" and not pager.finished
    pager.advance(page([partnership(3)], False))
    assert pager.finished


def test_an_empty_page_ends_the_listing_whatever_has_more_says() -> None:
    pager = ps.CursorPager()
    pager.advance(page([], True))
    assert pager.finished


def test_a_page_that_comes_back_is_refused() -> None:
    pager = ps.CursorPager()
    pager.advance(page([partnership(1), partnership(2)], True))
    with pytest.raises(ProviderError, match="never end"):
        pager.advance(page([partnership(1), partnership(2)], True))


def test_a_cursor_that_comes_back_is_refused() -> None:
    pager = ps.CursorPager()
    pager.advance(page([partnership(1), partnership(2)], True))
    with pytest.raises(ProviderError, match="cursor part_2 twice"):
        pager.advance(page([partnership(3), partnership(2)], True))  # ends on part_2 again


def test_an_answer_of_another_shape_is_an_error_not_an_empty_listing() -> None:
    with pytest.raises(ProviderError, match="unexpected answer"):
        ps.CursorPager().advance({"items": []})


# --- over HTTP (MockTransport) ------------------------------------------------------------


def fake_account(records: list[dict[str, Any]], links: dict[str, list[str]], seen: list[Any]):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != ps.auth_headers(PUBLIC, SECRET)["Authorization"]:
            return httpx.Response(401, json={"message": "Invalid API credentials", "status": 401})
        path = request.url.path.removeprefix("/api/v2")
        if path == "/partnerships":
            params = request.url.params
            rows = [r for r in records if params.get("approved_status") in (None, "approved")]
            if params.get("approved_status"):
                rows = [r for r in rows if r["key"] in links]  # "approved" = has links here
            keys = [r["key"] for r in rows]
            after = params.get("starting_after")
            start = keys.index(after) + 1 if after else 0
            limit = int(params["limit"])
            return httpx.Response(
                200, json=page(rows[start : start + limit], start + limit < len(rows))
            )
        email = path.removeprefix("/links/partnership/")
        owner = next((r for r in records if r["email"] == email), None)
        if owner is None or owner["key"] not in links:
            return httpx.Response(404, json={"message": "Partnership not found", "status": 404})
        items = [
            {"key": "l", "dest": "d", "url": f"https://go.example/{c}"} for c in links[owner["key"]]
        ]
        return httpx.Response(200, json=page(items, False))

    return handler


def test_reading_costs_the_pages_plus_one_call_per_partner() -> None:
    records = [partnership(n) for n in range(1, 251)]
    links = {r["key"]: [f"code{r['key'][5:]}"] for r in records}
    seen: list[httpx.Request] = []
    rows, http = run(lambda http: ps.read_roster(http, FAST, 8), fake_account(records, links, seen))
    assert len(rows) == 250 and {row["email"] for row in rows} == {r["email"] for r in records}
    assert all(row["referral_code"] == f"code{row['source_id'][5:]}" for row in rows)
    # 250 partners at 100 a page: 3 pages (has_more is false on the last), and 250 link calls.
    assert http.calls == {"list": 3, "links": 250}
    lists = [r for r in seen if r.url.path.endswith("/partnerships")]
    assert [r.url.params.get("starting_after") for r in lists] == [None, "part_100", "part_200"]
    assert all(r.url.params["limit"] == "100" for r in lists)


def test_the_links_call_names_the_partner_by_email() -> None:
    seen: list[httpx.Request] = []
    records = [partnership(1, email="ann+promo@example.com")]
    rows, _ = run(
        lambda http: ps.read_roster(http, FAST, 2),
        fake_account(records, {"part_1": ["ann"]}, seen),
    )
    assert rows[0]["referral_code"] == "ann"
    assert seen[-1].url.path == "/api/v2/links/partnership/ann+promo@example.com"


def test_records_without_approval_are_settled_by_the_approved_listing() -> None:
    records = [partnership(n, approved_status=None) for n in range(1, 4)]
    links = {"part_1": ["one"], "part_3": ["three"]}  # the fake's approved ones
    rows, http = run(lambda http: ps.read_roster(http, FAST, 2), fake_account(records, links, []))
    assert {row["source_id"]: row["status"] for row in rows} == {
        "part_1": "active",
        "part_2": "not approved",
        "part_3": "active",
    }
    assert rows[1]["referral_code"] is None  # its links answered 404: no code, no failure
    assert http.calls == {"list": 2, "links": 3}


def test_a_refused_key_stops_the_read() -> None:
    from sync.errors import FatalProviderError

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Invalid API credentials", "status": 401})

    with pytest.raises(FatalProviderError, match="Invalid API credentials"):
        run(lambda http: ps.read_roster(http, FAST, 2), refuse)


def test_a_server_that_repeats_its_page_forever_is_stopped() -> None:
    calls = 0

    def forever(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=page([partnership(1), partnership(2)], True))

    with pytest.raises(ProviderError, match="never end"):
        run(lambda http: ps.read_partnerships(http, FAST), forever)
    assert calls == 2


def test_a_429_pauses_and_the_same_call_is_made_again() -> None:
    records = [partnership(n) for n in range(1, 4)]
    inner = fake_account(records, {r["key"]: [f"c{r['key']}"] for r in records}, [])
    refused = {"done": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if "/links/" in request.url.path and not refused["done"]:
            refused["done"] = True  # PartnerStack documents no rate-limit headers
            return httpx.Response(429, json={"message": "Too many requests", "status": 429})
        return inner(request)

    rows, http = run(lambda http: ps.read_roster(http, FAST, 1), handler)
    assert [row["referral_code"] for row in rows] == ["cpart_1", "cpart_2", "cpart_3"]
    assert http.rate_limited == 1 and http.calls == {"list": 1, "links": 4}
