"""An in-process provider client: the real ProviderHTTP over httpx's MockTransport, so a stage
(worker, retry, remote reader) can be tried against a handler in the test's own process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from sync.providers.base import Provider
from sync.providers.http import DEFAULT_TIMEOUT, ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy

BASE_URL = "https://api.example.test"
TEST_KEY = "key_test_0123456789abcdef"


def mock_client(
    provider: Provider,
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    policy: RetryPolicy | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limiter: RateLimiter | None = None,
    key: str = TEST_KEY,
    **options: Any,
) -> ProviderHTTP:
    """`provider`'s client answered by `handler`, with no rate budget to wait for (unless
    `limiter` gives one); `options` are ProviderHTTP's own (e.g. `max_answer_bytes`)."""
    return ProviderHTTP(
        provider_name=provider.name,
        base_url=BASE_URL,
        headers=provider.auth_headers(key),
        limiter=limiter or RateLimiter(1_000_000),
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        transport=httpx.MockTransport(handler),
        timeout=timeout,
        policy=policy,
        **options,
    )
