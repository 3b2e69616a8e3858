"""Tapfiliate as a migration source, in-process: records to rows, the join, Link-header paging."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sync.errors import ProviderError
from sync.sources import tapfiliate as tf

PROGRAM = "my-program"


def affiliate(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"aff{n}",
        "email": f"a{n}@example.com",
        "firstname": f"First{n}",
        "lastname": f"Last{n}",
        "address": {"country": {"code": "NL", "name": "Netherlands"}},
        "created_at": f"2024-01-{n % 28 + 1:02d}T10:00:00+00:00",
        **fields,
    }


def affiliation(n: int, *, approved: bool | None = True, ref: str | None = None, **fields: Any):
    code = ref if ref is not None else f"code{n}"
    return {
        "affiliate": {"id": f"aff{n}", "email": f"a{n}@example.com", "firstname": f"First{n}"},
        "program": {"id": PROGRAM, "title": "My program"},
        "approved": approved,
        "coupon": None,
        "referral_link": {"link": f"https://shop.example/?ref={code}", "asset_id": "x"},
        **fields,
    }


def link(path: str, **rels: int) -> str:
    return ", ".join(
        f'<https://api.example.test/1.6{path}?page={page}>; rel="{rel}"'
        for rel, page in rels.items()
    )


# --- pure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"link": "https://shop.example/?ref=nlmjdis"}, "nlmjdis"),
        ("https://shop.example/pricing?utm=a&ref=Jane_Doe", "Jane_Doe"),  # a plain URL
        ({"link": "https://shop.example/?ref=john%20doe"}, "john doe"),
        ({"link": "https://shop.example/?tap_a=123-abc&tap_s=9"}, None),  # no ref parameter
        (None, None),
    ],
)
def test_the_code_is_the_ref_parameter_of_the_referral_link(given: object, code: str | None):
    assert tf.code_from_link(given) == code


@pytest.mark.parametrize(
    ("approved", "status"), [(True, "active"), (False, "not approved"), (None, "pending")]
)
def test_status_is_the_approval_in_the_program(approved: bool | None, status: str) -> None:
    assert tf.status_of({"approved": approved}) == status
    assert tf.status_of(None) == "not in program"


def test_an_affiliate_becomes_a_neutral_row() -> None:
    row = tf.to_neutral(affiliate(3), affiliation(3, coupon="SAVE10"))
    assert row["source_id"] == "aff3" and row["email"] == "a3@example.com"
    assert (row["first_name"], row["last_name"], row["name"]) == ("First3", "Last3", "First3 Last3")
    assert row["country"] == "NL" and row["referral_code"] == "code3"
    assert row["promo_code"] == "SAVE10" and row["status"] == "active"
    assert row["created_at"] == "2024-01-04T10:00:00+00:00"


def test_the_join_accounts_for_every_affiliate_of_the_account_and_of_the_program() -> None:
    affiliates = [affiliate(1), affiliate(2), affiliate(3)]
    affiliations = [affiliation(1), affiliation(3, approved=False), affiliation(4, approved=None)]
    rows = {row["source_id"]: row for row in tf.join(affiliates, affiliations)}
    assert {key: row["status"] for key, row in rows.items()} == {
        "aff1": "active",
        "aff2": "not in program",
        "aff3": "not approved",
        "aff4": "pending",  # joined the program after the account listing was read
    }
    assert rows["aff2"]["referral_code"] is None and rows["aff4"]["referral_code"] == "code4"


# --- the page pager -----------------------------------------------------------------------


def test_the_pager_follows_rel_next_and_ends_where_there_is_none() -> None:
    pager = tf.PagePager("the affiliates")
    page1 = [affiliate(n) for n in range(25)]
    pager.advance(page1, link("/affiliates/", next=2, last=2))
    assert pager.page == 2 and not pager.finished
    pager.advance([affiliate(25)], link("/affiliates/", first=1, prev=1, last=2))
    assert pager.finished


def test_a_full_last_page_needs_no_extra_call_when_the_header_says_so() -> None:
    pager = tf.PagePager("the affiliates")
    pager.advance([affiliate(n) for n in range(25)], link("/affiliates/", first=1, last=1))
    assert pager.finished


def test_without_a_header_a_short_page_ends_the_listing() -> None:
    pager = tf.PagePager("the affiliates")
    pager.advance([affiliate(n) for n in range(25)], None)
    assert not pager.finished and pager.page == 2
    pager.advance([affiliate(n) for n in range(25, 30)], None)
    assert pager.finished


def test_a_next_link_to_the_same_page_is_refused() -> None:
    pager = tf.PagePager("the affiliates")
    pager.advance([affiliate(n) for n in range(25)], link("/affiliates/", next=2))
    with pytest.raises(ProviderError, match="links to page 2 as the next"):
        pager.advance([affiliate(n) for n in range(25, 50)], link("/affiliates/", next=2))


def test_a_page_of_items_already_read_is_refused() -> None:
    pager = tf.PagePager("the affiliates")
    pager.advance([affiliate(n) for n in range(25)], link("/affiliates/", next=2))
    with pytest.raises(ProviderError, match="never end"):
        pager.advance([affiliate(n) for n in range(25)], link("/affiliates/", next=3))


def test_an_answer_that_is_not_an_array_is_an_error() -> None:
    with pytest.raises(ProviderError, match="unexpected answer"):
        tf.PagePager("the affiliates").advance({"data": []}, None)


# --- reading both listings ----------------------------------------------------------------


def fake_fetch(affiliates: list[Any], affiliations: list[Any], calls: list[tuple[str, int]]):
    async def fetch(path: str, page: int) -> tuple[Any, str | None]:
        calls.append((path, page))
        items = affiliations if path == tf.affiliations_path(PROGRAM) else affiliates
        last = max(1, -(-len(items) // 25))
        rels = {"first": 1, "last": last} | ({"next": page + 1} if page < last else {})
        return items[(page - 1) * 25 : page * 25], link(path, **rels)

    return fetch


def test_reading_costs_the_pages_of_the_two_listings() -> None:
    affiliates = [affiliate(n) for n in range(60)]
    affiliations = [affiliation(n, approved=n % 10 != 0) for n in range(50)]
    calls: list[tuple[str, int]] = []
    rows = asyncio.run(tf.read_roster(fake_fetch(affiliates, affiliations, calls), PROGRAM))
    assert len(rows) == 60
    # 50 affiliations: 2 pages (the second is full, and the header says it is the last);
    # 60 affiliates: 3 pages.
    assert calls == [
        ("/programs/my-program/affiliates/", 1),
        ("/programs/my-program/affiliates/", 2),
        ("/affiliates/", 1),
        ("/affiliates/", 2),
        ("/affiliates/", 3),
    ]
    statuses = [row["status"] for row in rows]
    assert statuses.count("active") == 45 and statuses.count("not approved") == 5
    assert statuses.count("not in program") == 10
    assert all(row["referral_code"] == f"code{row['source_id'][3:]}" for row in rows[:50])


# --- over HTTP (MockTransport), Link headers and all ---------------------------------------


def over_http(handler: Any, program: str = PROGRAM) -> tuple[list[Any], Any]:
    import httpx

    from sync.providers.http import ProviderHTTP
    from sync.ratelimit import RateLimiter
    from sync.retry import RetryPolicy

    base = "https://api.example.test/1.6"

    async def go() -> tuple[list[Any], Any]:
        http = ProviderHTTP(
            provider_name="tapfiliate",
            base_url=base,
            headers=tf.auth_headers("tap_key_7Qm2"),
            limiter=RateLimiter(1_000_000),
            error_message=tf.error_message,
            is_account_error=lambda status, body: status in (401, 403),
            transport=httpx.MockTransport(handler),
        )
        try:
            fetch = tf.page_fetcher(http, RetryPolicy(attempts=2, initial_wait=0))
            return await tf.read_roster(fetch, program), http
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_the_link_header_is_read_through_the_client() -> None:
    import httpx

    affiliates = [affiliate(n) for n in range(30)]
    affiliations = [affiliation(n) for n in range(25)]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["x-api-key"] == "tap_key_7Qm2"
        path = request.url.path.removeprefix("/1.6")
        page = int(request.url.params["page"])
        items = affiliations if path == tf.affiliations_path(PROGRAM) else affiliates
        last = max(1, -(-len(items) // 25))
        rels = {"last": last} | ({"next": page + 1} if page < last else {})
        return httpx.Response(
            200, json=items[(page - 1) * 25 : page * 25], headers={"Link": link(path, **rels)}
        )

    rows, http = over_http(handler)
    assert len(rows) == 30 and http.calls == {"list": 3}  # 1 program page (full, last) + 2
    assert [r.url.params["page"] for r in seen] == ["1", "1", "2"]


def test_a_server_whose_next_link_points_back_is_stopped() -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [affiliation(n + 25 * page) for n in range(25)]
        return httpx.Response(200, json=items, headers={"Link": link("/x/", next=1)})

    with pytest.raises(ProviderError, match="links to page 1 as the next"):
        over_http(handler)


def test_a_429_is_waited_out_and_its_stated_limit_adopted() -> None:
    import httpx

    state = {"refused": False}

    def handler(request: httpx.Request) -> httpx.Response:
        import time

        reset = str(int(time.time()))  # epoch seconds: the window is over already
        limit = {
            "X-Ratelimit-Limit": "600",
            "X-Ratelimit-Remaining": "0",
            "X-Ratelimit-Reset": reset,
        }
        if not state["refused"]:
            state["refused"] = True
            return httpx.Response(429, json={"message": "Too many requests"}, headers=limit)
        page = [affiliation(1)] if "/programs/" in request.url.path else [affiliate(1)]
        return httpx.Response(200, json=page, headers={"Link": link("/x/", last=1)})

    rows, http = over_http(handler)
    assert [row["status"] for row in rows] == ["active"]
    assert http.rate_limited == 1 and http.calls == {"list": 3}
    assert http.limiter.per_minute <= 600  # the limit the answer stated
