"""One request budget per provider account, shared by listing, lookups and creates.

Requests are spaced evenly (a GCRA / virtual-scheduling limiter with no burst): a provider that
counts a sliding 60-second window never sees more than the budget in any window, so a known limit
is met without a single 429. When a 429 arrives anyway, `pause_for` holds every caller, not just
the one that was refused, until the provider's reset.

The limiter also remembers when it sent its last minute of requests and never lets more than the
budget into any 60 seconds. Even spacing alone guarantees that only while the rate stays put;
after the rate drops (a 429 told the real limit), the requests of the last minute still count at
the provider, and this is what keeps the next ones from being refused as well.

When the budget is only a guess (no --rate-limit, no plan given) the limiter is `adaptive`:
- a limit the provider states (X-RateLimit-Limit, on any answer) is adopted, up or down;
- while requests wait for the budget and no 429 comes, the rate rises by PROBE_STEP every
  PROBE_EVERY seconds, up to `ceiling` (the provider's largest plan);
- the first 429 settles it: at the limit the 429 states, or below the rate that was refused.
A sliding window only refuses once a whole minute's budget is spent, so the rise cannot find the
limit early; it costs the requests in flight when the first 429 comes, once per run. A known
budget is never probed: it costs no 429 at all.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Below the published budget on purpose: client and server clocks and network jitter differ.
SAFETY = 0.99
# ...and at least this many requests per minute below it. Upstash's sliding window (Dub's)
# weighs the previous fixed minute: a steady rate r never counts more than r + 1 - (elapsed
# share), so r <= limit - 1 is never refused on time, and one more request absorbs arrivals
# up to half an interval early. At small limits 1% alone is less than one request.
HEADROOM = 2.0
MIN_RATE_PER_MINUTE = 1.0
WINDOW = 60.0  # seconds: the budgets are per minute
PROBE_EVERY = 5.0  # seconds of waiting for the budget, without a 429, before the rate rises
PROBE_STEP = 1.25
SLOW_DOWN = 0.8  # after a 429 that does not state the limit


class RateLimiter:
    """Hands out evenly spaced request slots at `per_minute` and honours provider pauses."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        safety: float = SAFETY,
        headroom: float = HEADROOM,
        adaptive: bool = False,
        ceiling: float | None = None,
    ) -> None:
        """Args:
        per_minute: the budget, or the starting guess when `adaptive`.
        clock, sleep: injectable for tests.
        safety: the share of the budget used.
        headroom: requests per minute left unused at least, whatever the share.
        adaptive: the budget is a guess: learn the real one (see the module docstring).
        ceiling: the highest rate an adaptive limiter rises to (default: 4x the guess).
        """
        self._clock = clock
        self._sleep = sleep
        self._safety = safety
        self._headroom = headroom
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._sent: deque[float] = deque()  # slots handed out in the last WINDOW seconds
        self.per_minute = per_minute
        self.configured = not adaptive  # a budget given by the user is a ceiling, never probed
        self.probing = adaptive
        self.ceiling = max(ceiling or per_minute * 4, per_minute)
        self._probe_since = 0.0
        self._starved = False  # callers waited for the budget since the last change
        self.waited = 0.0  # seconds callers spent waiting, for the summary
        self.pauses = 0
        self.changes: list[tuple[float, float, str]] = []  # (time, per_minute, why)
        self.stated: float | None = None  # the limit the provider itself stated, if it did

    @property
    def per_minute(self) -> float:
        return self._per_minute

    @per_minute.setter
    def per_minute(self, value: float) -> None:
        self._per_minute = max(value, MIN_RATE_PER_MINUTE)
        paced = self.paced_per_minute
        self._interval = 60.0 / paced
        # Even spacing lets at most this many slots into any window; the log keeps to it too.
        self._window_cap = math.floor(paced) + 1

    @property
    def paced_per_minute(self) -> float:
        """The rate requests are actually sent at: the budget less the safety margins."""
        budget = self._per_minute
        return max(min(budget * self._safety, budget - self._headroom), budget * self._safety / 2)

    @property
    def interval(self) -> float:
        return self._interval

    async def acquire(self) -> float:
        """Wait for this caller's slot and return it (on the limiter's clock); a pause that
        starts meanwhile moves the slot on. Slots are at least `interval` apart, whenever the
        sleep that waits for one actually wakes."""
        while True:
            now = self._clock()
            self._probe(now)
            slot = max(now, self._next_slot, self._paused_until, self._window_slot(now))
            self._next_slot = slot + self._interval
            self._sent.append(slot)
            if slot > now:
                self._starved = self._starved or slot > self._paused_until
                self.waited += slot - now
                await self._sleep(slot - now)
            if self._clock() >= self._paused_until:
                return slot
            self._sent.remove(slot)  # a pause began meanwhile: this slot was not used

    def pause_for(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a 429's Retry-After, or a reset announced ahead)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def slow_down(self, factor: float = SLOW_DOWN) -> None:
        """Lower the rate after a 429 that did not say the provider's real limit."""
        self._set(self._per_minute * factor, "429 without a stated limit")

    def learn(self, limit: float) -> None:
        """The provider stated its limit (requests per minute). A guessed budget adopts it; a
        configured one only ever comes down to it."""
        if limit > 0:
            self.stated = limit
        if limit <= 0 or limit == self._per_minute:
            if not self.configured:
                self.probing = False
            return
        if self.configured:
            if limit < self._per_minute:
                self._set(limit, "the provider states a lower limit")
            return
        self.probing = False
        self._set(limit, "the provider states its limit")

    def rate_limited(self, stated_limit: float | None) -> None:
        """A 429 arrived: adopt the limit it states, or slow down; either way stop rising."""
        if stated_limit:
            self.learn(stated_limit)
        else:
            self.probing = False
            self.slow_down()

    def _set(self, per_minute: float, why: str) -> None:
        self.per_minute = per_minute
        now = self._clock()
        self._probe_since, self._starved = now, False
        self.changes.append((now, self._per_minute, why))
        log.info("request budget changed", per_minute=round(self._per_minute), reason=why)

    def _probe(self, now: float) -> None:
        if not self.probing or now - self._probe_since < PROBE_EVERY:
            return
        if self._starved and self._per_minute < self.ceiling:
            self._set(min(self._per_minute * PROBE_STEP, self.ceiling), "no 429: probing up")
        self._probe_since, self._starved = now, False

    def _window_slot(self, now: float) -> float:
        """The earliest time a slot keeps the last WINDOW seconds within the budget."""
        sent = self._sent
        while sent and sent[0] <= now - WINDOW:
            sent.popleft()
        if len(sent) < self._window_cap:
            return now
        return sent[-self._window_cap] + WINDOW
