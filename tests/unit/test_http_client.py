"""The provider HTTP client in-process, over httpx.MockTransport: no socket, no sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from support.mock_account import BASE_URL, mock_client

from sync.errors import (
    AcceptedWithoutPartner,
    AskedToWait,
    RejectedError,
    RetryableProviderError,
    UnreachableError,
)
from sync.providers.dub import Dub
from sync.providers.http import ProviderHTTP
from sync.providers.waits import parse_wait
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy, call_with_retries

KEY = "dub_test_9Zx8Yw7Vu6Ts5Rq4Po3"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def client(handler: Handler, limiter: RateLimiter | None = None, **options: Any) -> ProviderHTTP:
    """A Dub client whose every request goes to `handler`; no budget to wait for."""
    return mock_client(Dub(), handler, limiter=limiter, key=KEY, **options)


def call(http: ProviderHTTP, method: str = "GET", path: str = "/partners", **kw: Any) -> Any:
    async def go() -> Any:
        try:
            return await http.request(method, path, kind=kw.pop("kind", "list"), **kw)
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_the_pace_counts_slots_in_order_whichever_sleep_wakes_first() -> None:
    """On a busy machine a worker's wake-up can come after a later slot's: the pace is measured
    from the earliest slot to the latest, never faster than the budget."""
    now = [0.0]

    async def reversed_wakeups(seconds: float) -> None:
        # The nearer slot's sleep wakes after the further one's.
        await asyncio.sleep(0.02 if seconds < 0.06 else 0.0)

    limiter = RateLimiter(1200, clock=lambda: now[0], sleep=reversed_wakeups)
    http = client(lambda request: httpx.Response(200, json=[]), limiter=limiter)

    async def go() -> None:
        try:
            await asyncio.gather(*(http.request("GET", "/partners", kind="list") for _ in range(3)))
        finally:
            await http.aclose()

    asyncio.run(go())
    pace = http.pace("list")
    assert pace is not None
    assert pace == pytest.approx(1 / limiter.interval)
    assert pace <= 1200 / 60


def test_requests_go_through_the_injected_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "pn_1", "email": "a@example.com"}])

    body = call(client(handler), params={"page": 1})
    assert body == [{"id": "pn_1", "email": "a@example.com"}]
    assert str(seen[0].url) == f"{BASE_URL}/partners?page=1"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_an_answer_carries_its_headers_redacted_like_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f'<{BASE_URL}/partners?page=2>; rel="next"; by="Bearer {KEY}"'
        headers = [("Link", echoed), ("X-Seen", KEY), ("X-Seen", "twice")]
        return httpx.Response(200, json={"echo": KEY}, headers=headers)

    async def go() -> Any:
        http = client(handler)
        try:
            return await http.answer("GET", "/partners", kind="list")
        finally:
            await http.aclose()

    answer = asyncio.run(go())
    assert answer.body == {"echo": "[redacted]"}
    link = answer.header("LINK")
    assert link is not None and link.startswith(f'<{BASE_URL}/partners?page=2>; rel="next"')
    assert answer.header("x-seen") == "[redacted], twice"  # repeated headers joined
    assert KEY not in repr(answer) and answer.header("x-absent") is None


def test_a_refused_request_raises_whether_asked_for_its_answer_or_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"error": {"code": "bad", "message": f"no {KEY}"}})

    async def go() -> None:
        http = client(handler)
        try:
            await http.answer("GET", "/partners", kind="list")
        finally:
            await http.aclose()

    with pytest.raises(RejectedError) as caught:
        asyncio.run(go())
    assert KEY not in str(caught.value) + repr(caught.value.body)


# --- what the client makes of a misbehaving provider ---------------------------------------


def test_an_echoed_key_is_redacted_from_the_error_and_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        echo = f"got {request.headers['authorization']} and {KEY}; also Basic dXNlcjpwYXNz"
        return httpx.Response(422, json={"error": {"code": "bad", "message": echo}})

    with pytest.raises(RejectedError) as caught:
        call(client(handler))
    text = str(caught.value) + repr(caught.value.body)
    assert KEY not in text and "dXNlcjpwYXNz" not in text
    assert "got [redacted] and [redacted]" in text


def test_a_short_key_is_redacted_from_errors() -> None:
    provider = Dub()
    http = ProviderHTTP(
        provider_name="dub",
        base_url=BASE_URL,
        headers=provider.auth_headers("k9"),
        limiter=RateLimiter(1_000_000),
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        transport=httpx.MockTransport(lambda r: httpx.Response(400, json={"error": "k9 bad"})),
    )
    with pytest.raises(RejectedError) as caught:
        call(http)
    assert "k9" not in str(caught.value)


def test_a_refused_connection_gives_up_after_three_attempts_naming_the_url() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("All connection attempts failed", request=request)

    http = client(handler)

    async def go() -> None:
        try:
            await call_with_retries(
                lambda: http.request("GET", "/partners", params={"q": "secret"}, kind="list"),
                policy=RetryPolicy(initial_wait=0.001),
                write=False,
            )
        finally:
            await http.aclose()

    with pytest.raises(UnreachableError) as caught:
        asyncio.run(go())
    assert len(attempts) == 3
    assert f"{BASE_URL}/partners" in str(caught.value) and "secret" not in str(caught.value)
    assert caught.value.exit_code == 5


def test_an_outage_after_answers_is_given_the_outage_limit() -> None:
    answered = []

    def handler(request: httpx.Request) -> httpx.Response:
        if not answered:
            answered.append(request)
            return httpx.Response(200, json=[])
        raise httpx.ConnectError("refused", request=request)

    http = client(handler, policy=RetryPolicy(outage=0.3, initial_wait=0.05, max_wait=0.05))

    async def go() -> float:
        await http.request("GET", "/partners", kind="list")
        started = time.monotonic()
        try:
            await call_with_retries(
                lambda: http.request("GET", "/partners", kind="list"),
                policy=RetryPolicy(initial_wait=0.05, max_wait=0.05),
                write=False,
            )
        except UnreachableError:
            return time.monotonic() - started
        finally:
            await http.aclose()
        raise AssertionError("not given up")

    # Given up once the outage limit passed, long before the default minute.
    assert 0.3 <= asyncio.run(go()) < 20


@pytest.mark.parametrize("body", [b"", b"null", b"not json", b"{}"])
def test_a_create_answered_2xx_without_a_partner_is_accepted_not_retryable(body: bytes) -> None:
    http = client(lambda request: httpx.Response(201, content=body))

    async def go() -> None:
        try:
            await Dub().create(http, {"email": "a@example.com"})
        finally:
            await http.aclose()

    with pytest.raises(AcceptedWithoutPartner):
        asyncio.run(go())


def test_a_trickling_body_is_bounded_by_the_timeout() -> None:
    async def trickle() -> Any:
        for _ in range(100):
            await asyncio.sleep(0.3)
            yield b" "

    http = client(lambda request: httpx.Response(200, content=trickle()), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RetryableProviderError, match="did not arrive whole"):
        call(http)
    assert time.monotonic() - started < 15  # the whole body takes 30 s


@pytest.mark.parametrize("announce", [True, False])
def test_a_huge_body_is_refused_before_it_is_read_whole(announce: bool) -> None:
    sent = []

    async def flood() -> Any:
        for _ in range(10_000):
            sent.append(1)
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-length": str(10_000 * 1024)} if announce else {}
        return httpx.Response(200, content=flood(), headers=headers)

    with pytest.raises(RetryableProviderError, match="allowed"):
        call(client(handler, max_answer_bytes=64 * 1024))
    assert len(sent) < (1 if announce else 100)


def test_a_long_retry_after_is_waited_in_full_not_cut() -> None:
    slept: list[float] = []
    now = [0.0]
    asked_at: list[float] = []
    answers = iter([httpx.Response(429, headers={"retry-after": "120"})])

    def handler(request: httpx.Request) -> httpx.Response:
        asked_at.append(now[0])
        return next(answers, httpx.Response(200, json=[]))

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(1_000_000, clock=lambda: now[0], sleep=fake_sleep)
    http = client(handler, limiter=limiter)

    async def go() -> Any:
        try:
            return await call_with_retries(
                lambda: http.request("GET", "/partners", kind="list"),
                policy=RetryPolicy(),
                write=False,
                sleep=fake_sleep,
            )
        finally:
            await http.aclose()

    assert asyncio.run(go()) == []
    assert slept and slept[0] == pytest.approx(120, abs=1)
    assert asked_at[1] - asked_at[0] >= 119  # before: cut to 60 s


def test_a_retry_after_beyond_max_wait_stops_naming_the_time() -> None:
    http = client(
        lambda request: httpx.Response(429, headers={"retry-after": "3600"}),
        policy=RetryPolicy(max_provider_wait=60),
    )
    with pytest.raises(AskedToWait, match=r"asked to wait until \d\d:\d\d:\d\d UTC") as caught:
        call(http)
    assert caught.value.exit_code == 130


@pytest.mark.parametrize("value", ["-5", "soon", "nan", "inf"])
def test_an_unusable_retry_after_is_no_wait(value: str) -> None:
    assert parse_wait(value) is None
