"""Rate limiters keyed by a hash of the API key: Upstash's sliding window, as Dub counts.

Exactly `slidingWindowLimitScript` of @upstash/ratelimit (providers.md §6): time is cut into
fixed, epoch-aligned windows; a request at `elapsed` milliseconds into the current window sees

    count = floor(previous * (1 - elapsed / window)) + current

and is refused, without being counted, when that count has reached the limit. So refused
requests cost nothing, and `reset` is the end of the current fixed window, not the moment a
slot frees: right after a full minute the previous window still weighs, and the first requests
of the next one can be refused again.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

S = TypeVar("S")


@dataclass(frozen=True)
class Verdict:
    """One request: allowed or not, and where its key stands in the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds: the end of the current fixed window (Upstash's `reset`)
    now: float  # epoch seconds when the request was seen

    @property
    def reset_in(self) -> float:
        """Seconds from the request to the reset."""
        return max(0.0, self.reset_at - self.now)


class Limiter(Protocol):
    """What the sandbox asks of a rate limiter: one verdict per request."""

    limit: int

    def hit(self, key: str) -> Verdict: ...


class _KeyedLimiter(Generic[S]):
    """What every limiter here keeps: `limit` requests per `window` seconds, and a count of
    type S per hash of a key (the key itself is never kept), on an injectable clock of epoch
    seconds."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1:
            raise ValueError("a rate limit needs at least one request per window")
        if window <= 0:
            raise ValueError("a rate-limit window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, S] = {}

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class SlidingWindow(_KeyedLimiter[dict[int, int]]):
    """Allows about `limit` requests per key per `window` seconds, as Upstash estimates them.

    Per key it counts {window number: requests} of the current and the previous windows. The
    clock is read in whole milliseconds, as `Date.now()` gives it to Upstash.
    """

    def hit(self, key: str) -> Verdict:
        """Count one request for `key` if the window has room, and say whether it did."""
        digest = self._digest(key)
        now = self._clock()
        now_ms = math.floor(now * 1000)
        window_ms = max(1, round(self.window * 1000))
        current_window = now_ms // window_ms
        reset_at = (current_window + 1) * window_ms / 1000
        with self._lock:
            buckets = self._counts.setdefault(digest, {})
            for old in [number for number in buckets if number < current_window - 1]:
                del buckets[old]  # Redis expires them; only two windows ever count
            current = buckets.get(current_window, 0)
            elapsed = (now_ms % window_ms) / window_ms
            previous = math.floor((1 - elapsed) * buckets.get(current_window - 1, 0))
            if previous + current >= self.limit:
                return Verdict(False, self.limit, 0, reset_at, now)
            buckets[current_window] = current + 1
        remaining = max(0, self.limit - (current + 1 + previous))
        return Verdict(True, self.limit, remaining, reset_at, now)


class SlidingWindowLog(_KeyedLimiter[deque[float]]):
    """Allows `limit` requests per key in any `window` seconds: for Partnero and PromoteKit,
    whose algorithms are not published.

    Every request is logged (per key, the times of the window's requests), refused ones
    included: a client that keeps knocking while limited keeps itself limited, the stricter of
    the two readings.
    """

    def hit(self, key: str) -> Verdict:
        """Count one request for `key` and say whether it is within the limit."""
        digest = self._digest(key)
        now = self._clock()
        with self._lock:
            log = self._counts.setdefault(digest, deque())
            horizon = now - self.window
            while log and log[0] <= horizon:
                log.popleft()
            log.append(now)
            count = len(log)
            allowed = count <= self.limit
            if allowed:
                # The oldest entry leaving the window frees the next slot.
                reset_in = log[0] + self.window - now
            else:
                # A new request fits once all but limit-1 of the logged ones have expired.
                reset_in = log[count - self.limit] + self.window - now
        remaining = max(0, self.limit - count)
        return Verdict(allowed, self.limit, remaining, now + max(0.0, reset_in), now)
