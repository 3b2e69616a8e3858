"""A sliding-window-log rate limiter keyed by a hash of the API key, as the providers count."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """One counted request: allowed or not, and where its key stands in the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until a request from this key would be allowed again


class SlidingWindowLog:
    """Allows `limit` requests per key in any `window` seconds.

    Every request is logged, refused ones included, as Dub's Upstash limiter counts them: a
    client that keeps knocking while limited keeps itself limited.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("a rate limit needs at least one request per window")
        if window <= 0:
            raise ValueError("a rate-limit window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> Verdict:
        """Count one request for `key` and say whether it is within the limit."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = self._clock()
        with self._lock:
            log = self._logs.setdefault(digest, deque())
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
        return Verdict(allowed, self.limit, max(0, self.limit - count), max(0.0, reset_in))
