"""One request budget per provider account, shared by listing, lookups and creates.

Requests are spaced evenly (a GCRA / virtual-scheduling limiter with no burst): a provider that
counts a sliding 60-second window never sees more than the budget in any window, so a known limit
is met without a single 429. When a 429 arrives anyway, `pause_until` holds every caller, not just
the one that was refused, until the provider's reset.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Below the published budget on purpose: client and server clocks and network jitter differ.
SAFETY = 0.99
MIN_RATE_PER_MINUTE = 1.0


class RateLimiter:
    """Hands out evenly spaced request slots at `per_minute` and honours provider pauses."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        safety: float = SAFETY,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._safety = safety
        self._next_slot = 0.0
        self._paused_until = 0.0
        self.per_minute = per_minute
        self.waited = 0.0  # seconds callers spent waiting, for the summary
        self.pauses = 0

    @property
    def per_minute(self) -> float:
        return self._per_minute

    @per_minute.setter
    def per_minute(self, value: float) -> None:
        self._per_minute = max(value, MIN_RATE_PER_MINUTE)
        self._interval = 60.0 / (self._per_minute * self._safety)

    @property
    def interval(self) -> float:
        return self._interval

    async def acquire(self) -> None:
        """Wait for this caller's slot; a pause that starts meanwhile moves the slot on."""
        while True:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._interval
            if slot > now:
                self.waited += slot - now
                await self._sleep(slot - now)
            if self._clock() >= self._paused_until:
                return

    def pause_for(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a 429's Retry-After, or a reset announced ahead)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def slow_down(self, factor: float = 0.8) -> None:
        """Lower the rate after a 429 that did not say the provider's real limit."""
        self.per_minute = self._per_minute * factor
