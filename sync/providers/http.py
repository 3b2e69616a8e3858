"""The one place that speaks HTTP: rate-limited requests, and every answer checked at the door.

An answer is read whole within the deadline (`timeout`, headers and body together) and up to a
size limit; every secret the request carried, and any `Bearer`/`Basic` credential, is redacted
from it before it can become a message, an exception, a log line or a record; httpx errors become
ours. A provider that cannot be reached at all stops the run (`UnreachableError`), and one that
asks for a longer pause than the run may wait stops it resumably (`AskedToWait`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Required, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx
import structlog

from sync.errors import (
    AcceptedWithoutPartner,
    AskedToWait,
    FatalProviderError,
    ProviderError,
    RejectedError,
    RetryableProviderError,
    UnreachableError,
)
from sync.providers.reachability import Reachability, why_unanswered
from sync.providers.redaction import AnswerRedaction
from sync.providers.waits import requested_wait, stated_limit
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
USER_AGENT = "partner-sync"
# No partner API answers with more than a few MB; anything larger is refused unread.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# Requests that create something: a 2xx answer to one means the provider accepted it.
WRITES = frozenset({"create", "invite"})

ErrorMessage = Callable[[int, Any], str]
AccountError = Callable[[int, Any], bool]


class Call(TypedDict, total=False):
    """What a request sends besides its method and path, and what it is for."""

    params: Mapping[str, str | int] | None
    json: Any
    # What the call is for ("list", "lookup", "count", "create"), for the counts.
    kind: Required[str]


@dataclass(frozen=True, slots=True)
class Answer:
    """A success answer: its decoded JSON body and its headers (names in lower case, repeated
    ones joined by commas), both redacted like every answer."""

    body: Any
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        """One header's value, by its name in any case; None when the answer has none."""
        return self.headers.get(name.lower())


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
        policy: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 64,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        base_path: str = "",
    ) -> None:
        """`headers` are the account's credentials (redacted from every answer); `transport`
        replaces the network, for tests (e.g. `httpx.MockTransport`); `base_path` is the
        provider's (see `Provider.base_path`)."""
        policy = policy or RetryPolicy()
        self.provider_name = provider_name
        self.base_url = base_url.rstrip("/")
        given = urlsplit(self.base_url).path
        self._base_path = base_path if base_path and given.endswith(base_path) else ""
        self.limiter = limiter
        self.calls: Counter[str] = Counter()
        self._sent_at: dict[str, list[float]] = {}  # the budget's slot of each call of a kind
        self.rate_limited = 0
        self._error_message = error_message
        self._is_account_error = is_account_error
        self._max_wait = policy.max_provider_wait
        self._timeout = timeout
        self._max_answer_bytes = max_answer_bytes
        self.reachability = Reachability(
            min(policy.first_contact_attempts, policy.attempts), policy.outage
        )
        self._redaction = AnswerRedaction(headers)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    def pace(self, kind: str) -> float | None:
        """Calls of `kind` per second as the budget let them go, or None with fewer than two.

        n calls paced by the budget span n - 1 intervals, so the rate is the calls after the
        first over the time from the earliest slot to the latest: dividing all n by the run's
        length would show a short run faster than its budget allows. The earliest and latest,
        not the first and last recorded: a worker whose sleep woke late records its slot after
        a later one.
        """
        times = self._sent_at.get(kind, [])
        span = max(times) - min(times) if len(times) > 1 else 0.0
        return (len(times) - 1) / span if span > 0 else None

    async def aclose(self) -> None:
        await self._client.aclose()

    def _relative(self, path: str) -> str:
        """The path below the base URL: a base path the base URL already ends with is not
        sent twice (Partnero's documented base URL ends with /v1, and so do its paths)."""
        prefix = self._base_path
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            return path[len(prefix) :]
        return path

    def url_of(self, path: str) -> str:
        """Where a request to `path` goes, as a message may show it: no credentials, no query."""
        url = httpx.URL(self.base_url + self._relative(path))
        return str(url.copy_with(userinfo=b"", query=None, fragment=None))

    async def request(self, method: str, path: str, **call: Unpack[Call]) -> Any:
        """Send one request under the budget and return its decoded JSON body: the body of
        its `answer`, which says what it raises."""
        return (await self.answer(method, path, **call)).body

    async def answer(self, method: str, path: str, **call: Unpack[Call]) -> Answer:
        """Send one request under the budget and return its answer: the decoded JSON body and
        the headers (for an API that pages by a `Link` header).

        Args:
            method, path: the request's.
            call: its `params` and `json`, and its `kind` (see `Call`).

        Raises:
            RetryableProviderError: 429, 5xx, network failure or an unreadable body.
            AcceptedWithoutPartner: a create answered 2xx, but its body could not be read.
            FatalProviderError: the provider refused the account.
            RejectedError: the provider refused this request (other 4xx).
            UnreachableError: the provider has been out of reach for too long.
            AskedToWait: the provider asked to wait longer than the run may.
        """
        kind = call["kind"]
        slot = await self.limiter.acquire()
        self.calls[kind] += 1
        # The slot, not the time the sleep woke: a late first wake-up would shorten the span.
        self._sent_at.setdefault(kind, []).append(slot)
        where = f"{method} {path}"
        request = self._client.build_request(
            method, self._relative(path), params=call.get("params"), json=call.get("json")
        )
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.send(request, stream=True)
                self.reachability.answered()
                content = await self._read_body(response)
        except _Unread as unread:
            assert response is not None
            self._unread(response, where, kind, str(unread))
        except TimeoutError:
            if response is None:
                why = f"no answer in {self._timeout:g} s"
                raise self._no_answer(why, where, path, reached=True) from None
            why = f"the answer did not arrive whole in {self._timeout:g} s"
            self._unread(response, where, kind, why)
        except httpx.TransportError as exc:
            if response is None:
                raise self._transport_error(exc, where, path) from None
            self._unread(response, where, kind, f"the answer was cut off ({why_unanswered(exc)})")
        finally:
            if response is not None:
                await response.aclose()
        body = self._interpret(response, content, where, kind)
        # Only a success gets here; its headers are data like its body, and redacted alike.
        return Answer(body, self._redaction.headers(response.headers))

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The whole body, refused as soon as it (or what it announces) passes the size limit."""
        limit = self._max_answer_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Unread(f"it announces {int(declared):,} bytes, more than the {limit:,} allowed")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _Unread(f"it is larger than the {limit:,} bytes allowed")
            chunks.append(chunk)
        return b"".join(chunks)

    def _transport_error(self, exc: httpx.TransportError, where: str, path: str) -> ProviderError:
        if isinstance(exc, httpx.PoolTimeout):
            # Our own connection pool was full: nothing was sent, nothing is wrong out there.
            return RetryableProviderError(
                f"{self.provider_name}: no free connection for {where}", reached=False
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            why = f"cannot connect ({why_unanswered(exc)})"
            return self._no_answer(why, where, path, reached=False, refused=True)
        if isinstance(exc, httpx.TimeoutException):
            return self._no_answer(
                f"no answer in time ({why_unanswered(exc)})", where, path, reached=True
            )
        return self._no_answer(
            f"connection lost ({why_unanswered(exc)})", where, path, reached=True
        )

    def _no_answer(
        self, why: str, where: str, path: str, *, reached: bool, refused: bool = False
    ) -> ProviderError:
        """A request that got no answer: worth a retry, or, once the provider has been out of
        reach for too long, the end of the run."""
        down = self.reachability.no_answer(refused=refused)
        if down is None:
            message = f"{self.provider_name}: {why} for {where}"
            return RetryableProviderError(message, reached=reached)
        since = (
            f"no answer for {down:.0f} s"
            if self.reachability.answered_once
            else "it has not answered once"
        )
        return UnreachableError(
            f"could not reach {self.provider_name} at {self.url_of(path)}: {why}; {since}",
            hint="check the URL, the network and the provider's status; the checkpoint keeps "
            "what was done, and the same command resumes",
        )

    def _unread(self, response: httpx.Response, where: str, kind: str, why: str) -> NoReturn:
        """An answer whose status arrived but whose body could not be read whole: the status
        alone decides (an error, always), and a create the provider accepted is looked up,
        never resent."""
        status = response.status_code
        if 200 <= status < 300:
            self._unreadable_success(f"{where} answered HTTP {status}, but {why}", kind, status)
        self._adopt_advertised_limit(response.headers)
        self._refuse(response, None, where, unread=why)

    def _unreadable_success(self, what: str, kind: str, status: int) -> NoReturn:
        message = f"{self.provider_name}: {what}"
        if kind in WRITES:
            raise AcceptedWithoutPartner(message, status=status)
        raise RetryableProviderError(message, reached=True, status=status)

    def _interpret(self, response: httpx.Response, content: bytes, where: str, kind: str) -> Any:
        """The redacted body of a success; any other answer raises."""
        status = response.status_code
        self._adopt_advertised_limit(response.headers)
        success = 200 <= status < 300
        body = self._redaction.body(content, success=success)
        if not success:
            self._refuse(response, body, where)
        if body is None and content.strip():
            what = f"unreadable answer to {where} (HTTP {status}, {len(content)} bytes "
            self._unreadable_success(what + "that are not JSON)", kind, status)
        return body

    def _refuse(
        self, response: httpx.Response, body: Any, where: str, *, unread: str | None = None
    ) -> NoReturn:
        """Raise what an error answer means: retry it, stop the run, or refuse the request."""
        status = response.status_code
        explanation = unread or self._describe(status, body, response)
        message = self._redaction.error.scrub(
            f"{self.provider_name}: {where} answered HTTP {status}: {explanation}"
        )
        if status == 429:
            self.rate_limited += 1
            # A 429 that states the real limit was adopted above; one that does not means ours
            # is too high by an unknown amount: slow down. Either way an adaptive budget stops.
            self.limiter.rate_limited(stated_limit(response.headers))
            wait = self._pause(response.headers, 60.0 / self.limiter.per_minute * 5)
            raise RetryableProviderError(
                message, reached=False, retry_after=wait, status=status, body=body
            )
        if status >= 500 or status == 408:
            wait = self._pause(response.headers, None) if status == 503 else None
            raise RetryableProviderError(
                message, reached=True, retry_after=wait, status=status, body=body
            )
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
            return str(self._error_message(status, body))
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
        stated = stated_limit(headers)
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

    def _pause(self, headers: httpx.Headers, default: float | None) -> float | None:
        """Hold every request to the account until the time the provider named, in full.

        Returns the seconds to wait (`default` when the provider named no usable time).

        Raises:
            AskedToWait: the provider named a time further away than the run may wait.
        """
        wait = requested_wait(headers)
        if wait is None:
            if default is not None:
                self.limiter.pause_for(default)
            return default
        if wait > self._max_wait:
            until = time.strftime("%H:%M:%S", time.gmtime(time.time() + wait))
            raise AskedToWait(
                f"{self.provider_name} asked to wait until {until} UTC ({wait:.0f} s), longer "
                f"than --max-wait {self._max_wait:g} s; stopped with the checkpoint saved",
                hint=f"run the same command again after {until} UTC, or allow the wait with "
                f"--max-wait {wait:.0f}",
            )
        self.limiter.pause_for(wait)
        log.warning("provider asked to wait", provider=self.provider_name, wait=round(wait, 2))
        return wait


class _Unread(Exception):
    """The body of an answer was refused before it was read whole (why: the message)."""


__all__ = ["ProviderError", "ProviderHTTP"]
