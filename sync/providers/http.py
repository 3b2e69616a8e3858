"""The one place that speaks HTTP: rate-limited requests, and httpx errors translated into ours."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from sync.errors import (
    FatalProviderError,
    ProviderError,
    RejectedError,
    RetryableProviderError,
)
from sync.ratelimit import RateLimiter

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
USER_AGENT = "partner-sync"

# Values above these are epoch timestamps, not durations: 1e12 ms is 2001, 1e9 s is 2001 too.
_EPOCH_MS_FLOOR = 1e12
_EPOCH_S_FLOOR = 1e9


def parse_wait(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After / X-RateLimit-Reset value, whatever unit it came in.

    Accepts a delay in seconds, an epoch timestamp in seconds or in milliseconds (Dub sends
    milliseconds in both headers), or an HTTP date. Returns None when the value is unusable.
    """
    if value is None or not value.strip():
        return None
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
        except (TypeError, ValueError):
            return None
    if number >= _EPOCH_MS_FLOOR:
        return max(number / 1000.0 - now, 0.0)
    if number >= _EPOCH_S_FLOOR:
        return max(number - now, 0.0)
    return max(number, 0.0)


ErrorMessage = Callable[[int, Any], str]
AccountError = Callable[[int, Any], bool]


class ProviderHTTP:
    """An httpx client bound to one account: every request waits for the shared budget."""

    def __init__(
        self,
        *,
        provider_name: str,
        base_url: str,
        headers: Mapping[str, str],
        limiter: RateLimiter,
        error_message: ErrorMessage,
        is_account_error: AccountError,
        max_retry_after: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport` replaces the network, for tests (e.g. `httpx.MockTransport`)."""
        self.provider_name = provider_name
        self.limiter = limiter
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self._error_message = error_message
        self._is_account_error = is_account_error
        self._max_retry_after = max_retry_after
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        kind: str,
    ) -> Any:
        """Send one request under the budget and return its decoded JSON body.

        Args:
            method, path, params, json: the request.
            kind: what the call is for ("list", "lookup", "count", "create"), for the counts.

        Raises:
            RetryableProviderError: 429, 5xx, network failure or an unreadable body.
            FatalProviderError: the provider refused the account.
            RejectedError: the provider refused this request (other 4xx).
        """
        await self.limiter.acquire()
        self.calls[kind] += 1
        where = f"{method} {path}"
        try:
            response = await self._client.request(method, path, params=params, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise RetryableProviderError(
                f"{self.provider_name}: cannot connect for {where}: {type(exc).__name__}",
                reached=False,
            ) from exc
        except httpx.TimeoutException as exc:
            raise RetryableProviderError(
                f"{self.provider_name}: no answer in time for {where}", reached=True
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableProviderError(
                f"{self.provider_name}: connection lost during {where}: {type(exc).__name__}",
                reached=True,
            ) from exc
        return self._interpret(response, where)

    def _interpret(self, response: httpx.Response, where: str) -> Any:
        status = response.status_code
        self._adopt_advertised_limit(response.headers)
        body = _json_or_none(response)
        if 200 <= status < 300:
            if body is None and response.content.strip():
                raise RetryableProviderError(
                    f"{self.provider_name}: unreadable answer to {where} (HTTP {status}, "
                    f"{len(response.content)} bytes that are not JSON)",
                    reached=True,
                    status=status,
                )
            return body
        message = f"{self.provider_name}: {where} answered HTTP {status}: " + self._describe(
            status, body, response
        )
        if status == 429:
            self.rate_limited += 1
            wait = self._rate_limit_wait(response)
            self.limiter.pause_for(wait)
            log.warning("rate limited", provider=self.provider_name, wait=round(wait, 2))
            raise RetryableProviderError(
                message, reached=False, retry_after=wait, status=status, body=body
            )
        if status >= 500 or status == 408:
            raise RetryableProviderError(message, reached=True, status=status, body=body)
        if status in (401, 403) and self._is_account_error(status, body):
            raise FatalProviderError(
                message,
                status=status,
                body=body,
                hint=f"check the API key and the account's plan at {self.provider_name}",
            )
        raise RejectedError(message, status=status, body=body)

    def _describe(self, status: int, body: Any, response: httpx.Response) -> str:
        if body is not None:
            return self._error_message(status, body)
        content_type = response.headers.get("content-type", "")
        if "html" in content_type:
            return "an HTML page instead of the API's JSON (a proxy or gateway error?)"
        return response.reason_phrase or "no explanation"

    def _adopt_advertised_limit(self, headers: httpx.Headers) -> None:
        """Take the provider's own budget when it announces one.

        Laravel (Partnero) sends X-RateLimit-Limit on every answer and Dub on its errors, both
        per minute: a guessed default is replaced by the first answer that states the real one,
        and a --rate-limit above the account's plan comes down to it, before it costs a 429.
        """
        stated = _stated_limit(headers)
        if stated is None or stated == self.limiter.per_minute:
            if stated is not None:
                self.limiter.learn(stated)  # a guess confirmed: stop probing upwards
            return
        was = self.limiter.per_minute
        self.limiter.learn(stated)
        if self.limiter.per_minute != was:
            log.info(
                "adopting the provider's rate limit",
                provider=self.provider_name,
                per_minute=int(stated),
                was=round(was, 1),
            )

    def _rate_limit_wait(self, response: httpx.Response) -> float:
        headers = response.headers
        # A 429 that states the real limit was adopted above; one that does not means ours is
        # too high by an unknown amount: slow down. Either way an adaptive budget stops rising.
        self.limiter.rate_limited(_stated_limit(headers))
        wait = parse_wait(headers.get("retry-after"))
        if wait is None:
            wait = parse_wait(headers.get("x-ratelimit-reset"))
        if wait is None:
            wait = 60.0 / self.limiter.per_minute * 5
        if wait > self._max_retry_after:
            log.warning(
                "capping provider wait",
                provider=self.provider_name,
                asked=round(wait, 1),
                cap=self._max_retry_after,
            )
        return min(wait, self._max_retry_after)


def _stated_limit(headers: httpx.Headers) -> float | None:
    """The budget an X-RateLimit-Limit header states, in requests per minute, if any."""
    limit = headers.get("x-ratelimit-limit", "")
    return float(limit) if limit.isdigit() and int(limit) > 0 else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = ["ProviderError", "ProviderHTTP", "parse_wait"]
