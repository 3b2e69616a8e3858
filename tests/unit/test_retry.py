"""The one retry policy, through the HTTP client over httpx.MockTransport: which failures are
tried again for a read and for a create, how long it waits, and when it gives up."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.mock_account import mock_client

from sync.errors import RejectedError, RetryableProviderError
from sync.providers.dub import Dub
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy, backoff, call_with_retries

POLICY = RetryPolicy(attempts=5, initial_wait=0.01, max_wait=0.04)
Answer = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: Answer) -> tuple[Answer, list[httpx.Request]]:
    """A handler giving `answers` in turn, then 200 `[]`; and the requests it got."""
    queue, seen = list(answers), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)(request) if queue else httpx.Response(200, json=[])

    return handler, seen


def status(code: int, **headers: str) -> Answer:
    return lambda request: httpx.Response(code, json={"error": {"message": "no"}}, headers=headers)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


def call(handler: Answer, *, write: bool) -> tuple[Any, list[float]]:
    """One GET (a read) or POST (a create) through the policy; its result and the waits."""
    provider = Dub()
    now = [0.0]

    async def pass_time(seconds: float) -> None:  # the budget's pauses, on a virtual clock
        now[0] += seconds

    limiter = RateLimiter(1_000_000, clock=lambda: now[0], sleep=pass_time)
    http = mock_client(provider, handler, policy=POLICY, limiter=limiter)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go() -> Any:
        method, kind = ("POST", "create") if write else ("GET", "list")
        try:
            return await call_with_retries(
                lambda: http.request(method, "/partners", json={} if write else None, kind=kind),
                policy=POLICY,
                write=write,
                sleep=sleep,
            )
        finally:
            await http.aclose()

    return asyncio.run(go()), waits


@pytest.mark.parametrize(
    "failure",
    [status(500), status(502), status(503), status(429), refused, timed_out],
    ids=["500", "502", "503", "429", "refused", "timeout"],
)
def test_a_read_is_tried_again_after_a_transient_failure(failure: Answer):
    handler, seen = scripted(failure, failure)
    body, waits = call(handler, write=False)
    assert body == [] and len(seen) == 3 and len(waits) == 2


@pytest.mark.parametrize(
    "failure", [status(500), status(503), timed_out], ids=["500", "503", "timeout"]
)
def test_a_create_that_may_have_landed_is_not_resent_by_the_policy(failure: Answer):
    handler, seen = scripted(failure)
    with pytest.raises(RetryableProviderError) as caught:
        call(handler, write=True)
    assert caught.value.reached and len(seen) == 1  # the worker looks it up first


@pytest.mark.parametrize("failure", [status(429), refused], ids=["429", "refused"])
def test_a_create_that_never_arrived_is_resent(failure: Answer):
    handler, seen = scripted(failure)
    _, waits = call(handler, write=True)
    assert len(seen) == 2 and len(waits) == 1


def test_a_refusal_is_final_at_once():
    handler, seen = scripted(status(422))
    with pytest.raises(RejectedError):
        call(handler, write=False)
    assert len(seen) == 1


def test_a_429_s_retry_after_is_the_wait_not_the_backoff():
    handler, _ = scripted(status(429, **{"retry-after": "2"}))
    _, waits = call(handler, write=False)
    assert waits == [2.0]


def test_a_provider_down_for_good_is_given_up_after_the_policy_s_attempts():
    handler, seen = scripted(*[status(503)] * 10)
    with pytest.raises(RetryableProviderError):
        call(handler, write=False)
    assert len(seen) == POLICY.attempts


def test_the_backoff_grows_with_jitter_up_to_its_ceiling():
    rng = random.Random(3)
    for attempt in range(1, 8):
        ceiling = min(POLICY.max_wait, POLICY.initial_wait * 2 ** (attempt - 1))
        wait = backoff(POLICY, attempt, rng)
        assert ceiling / 2 <= wait <= ceiling
