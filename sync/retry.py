"""The one retry policy (tenacity): which failures are retried, how long to wait, when to stop.

Reads retry on every transient failure. A create is retried here only when the request provably
never reached the provider (connection refused, 429): any other failure leaves its outcome
unknown, and the worker looks the partner up before anything is sent again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from sync.errors import RetryableProviderError

T = TypeVar("T")
log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Limits of the retry loop; defaults outlast a provider that is down for about a minute."""

    attempts: int = 12
    max_delay: float = 150.0  # total seconds spent retrying one call
    initial_wait: float = 0.5
    max_wait: float = 30.0  # the longest backoff between two attempts
    # The longest pause a provider may ask for (Retry-After): waited in full; a longer one stops
    # the run, resumable, rather than being cut short.
    max_provider_wait: float = 900.0
    # A provider that never answered is given up after this many failed connections; one that
    # answered before, after `outage` seconds without any answer (see providers/http.py).
    first_contact_attempts: int = 3
    outage: float = 60.0


def backoff(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff for attempt 1, 2, ...: a random wait up to the ceiling."""
    ceiling = min(policy.max_wait, policy.initial_wait * 2 ** (attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableProviderError) and error.retry_after:
            # The time the provider named, in full (the client refuses one longer than the run
            # may wait). The rate limiter already holds every worker until then; waiting here as
            # well keeps this caller from re-queuing early.
            return error.retry_after
        return backoff(policy, state.attempt_number)

    return wait


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.info(
        "retrying",
        attempt=state.attempt_number,
        wait=round(state.upcoming_sleep, 2),
        error=str(error),
    )


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    write: bool,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `call`, retrying transient failures under `policy`; re-raise the last error.

    Args:
        call: the request, made again on each attempt.
        policy: attempts, waits and caps.
        write: True for a create, which is retried only if it never reached the provider.
        sleep: injectable for tests.
    """

    def retryable(error: BaseException) -> bool:
        if not isinstance(error, RetryableProviderError):
            return False
        return not (write and error.reached)

    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=_wait(policy),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_delay),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
