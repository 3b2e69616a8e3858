"""How the sandbox answers one request, in this order:

    down_for -> html_error -> drop -> error_before -> route -> auth
    -> rate limit (the emulator's limiter per key) / burst_429 -> the provider's work
    -> writes: error_after / timeout_after / drop_after -> reads: malformed -> latency -> reply

Only state changes take a lock; latency and stalls are slept by the caller without any lock,
so many requests can be in flight at once.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from dataclasses import dataclass

from sync.sandbox.base import (
    LIMIT,
    REMAINING,
    TIME_UNITS,
    Emulator,
    LimitInfo,
    Reply,
    Request,
    Route,
    header_value,
)
from sync.sandbox.faults import HTML_BAD_GATEWAY, Draw, Faults, draw, truncate
from sync.sandbox.ratelimit import Limiter
from sync.sandbox.stats import StatsRecorder


@dataclass(frozen=True)
class Answer:
    """A reply, sent after `delay` seconds."""

    reply: Reply
    delay: float


@dataclass(frozen=True)
class Hangup:
    """No reply: the connection is held `stall` seconds, then closed."""

    stall: float


Outcome = Answer | Hangup


class FaultState:
    """The faults in force, their seeded draw, the 429 burst under way and the outage window."""

    def __init__(self, faults: Faults) -> None:
        self.lock = threading.Lock()
        self.replace(faults)

    def replace(self, faults: Faults) -> None:
        """New faults; the draw restarts from their seed and down_for from now."""
        with self.lock:
            self.faults = faults
            self.rng = random.Random(faults.seed)
            self.burst_left = 0
            self.down_until = time.monotonic() + faults.down_for

    def restart_outage(self) -> None:
        """down_for counts from now (the server starts)."""
        with self.lock:
            self.down_until = time.monotonic() + self.faults.down_for

    def draw(self) -> tuple[Faults, Draw, bool]:
        """The faults in force, this request's roll of them, and whether the service is down."""
        with self.lock:
            faults = self.faults
            return faults, draw(faults, self.rng), time.monotonic() < self.down_until

    def take_burst(self, faults: Faults, rolled: Draw) -> bool:
        """Whether this request is one of a burst of injected 429s (starting one if rolled)."""
        with self.lock:
            if self.burst_left > 0:
                self.burst_left -= 1
                return True
            if rolled.starts_burst:
                self.burst_left = faults.burst_len - 1
                return True
            return False


class Answering:
    """One emulator's requests run through the faults, its limiter and its work."""

    def __init__(
        self,
        emulator: Emulator,
        limit: int,
        window: float | None,
        faults: FaultState,
        recorder: StatsRecorder,
    ) -> None:
        self.emulator = emulator
        self.limiter: Limiter | None = (
            emulator.make_limiter(limit, window or emulator.default_window) if limit else None
        )
        # Injected 429s still report a limit, the provider's default when none is enforced.
        self.header_limit = limit or emulator.default_rate_limit
        self.faults = faults
        self.recorder = recorder
        self.internal_errors: list[str] = []  # tracebacks of emulator bugs, answered as 500s

    def answer(self, request: Request, route: Route | None) -> Outcome:
        """The outcome of one request (`route` None: no route matched its path)."""
        faults, rolled, down = self.faults.draw()
        refused = self._before_work(request, route, rolled, down=down)
        if refused is not None or route is None:
            return refused or Answer(self.emulator.unknown_route(request), rolled.delay)
        info, limited = self._rate_limit(request, route, faults, rolled)
        if limited is not None:
            return Answer(limited, rolled.delay)
        try:
            reply = route.handler(request)
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            reply = self.emulator.server_error(500)
        if reply.committed:
            self.recorder.committed()
        outcome = self._after_work(reply, route, faults, rolled)
        if isinstance(outcome, Hangup):
            return outcome
        if info is not None:
            outcome.headers.update(self._limit_headers(outcome.status, info, faults, route))
        return Answer(outcome, rolled.delay)

    def _before_work(
        self, request: Request, route: Route | None, rolled: Draw, *, down: bool
    ) -> Outcome | None:
        """What stops a request before its route is known to be allowed: an outage, injected
        errors and drops, then the emulator's authentication."""
        emulator, recorder = self.emulator, self.recorder
        if down:
            recorder.fault("down")
            return Answer(emulator.server_error(503), rolled.delay)
        if rolled.html_error:
            recorder.fault("html_error")
            reply = Reply(502, HTML_BAD_GATEWAY, content_type="text/html")
            return Answer(reply, rolled.delay)
        if rolled.drop:
            recorder.fault("drop")
            return Hangup(0.0)
        if rolled.error_before is not None:
            recorder.fault("error_before")
            return Answer(emulator.server_error(rolled.error_before), rolled.delay)
        if route is None:
            return None
        refused = emulator.authenticate(request)
        return Answer(refused, rolled.delay) if refused is not None else None

    def _rate_limit(
        self, request: Request, route: Route, faults: Faults, rolled: Draw
    ) -> tuple[LimitInfo | None, Reply | None]:
        """The limiter's word on this request, and the 429 when it (or a burst) refuses it."""
        emulator, recorder = self.emulator, self.recorder
        info: LimitInfo | None = None
        now = time.time()
        if self.limiter is not None:
            verdict = self.limiter.hit(emulator.key_of(request) or "")
            info = LimitInfo(verdict.limit, verdict.remaining, verdict.reset_at, verdict.now)
            if not verdict.allowed:
                recorder.rate_limited()
                return info, self._limited(emulator.too_many_requests(), info, faults, route)
        if self.faults.take_burst(faults, rolled):
            recorder.fault("burst_429")
            recorder.rate_limited()
            burst = LimitInfo(self.header_limit, 0, now + faults.retry_after_seconds, now)
            return info, self._limited(emulator.too_many_requests(), burst, faults, route)
        return info, None

    def _after_work(
        self, reply: Reply, route: Route, faults: Faults, rolled: Draw
    ) -> Reply | Hangup:
        """The faults injected after the work: a write's answer lost, a read's body cut."""
        recorder = self.recorder
        if route.write and 200 <= reply.status < 300:
            if rolled.error_after:
                recorder.fault("error_after")
                return self.emulator.server_error(500)
            if rolled.timeout_after:
                recorder.fault("timeout_after")
                return Hangup(faults.stall)
            if rolled.drop_after:
                recorder.fault("drop_after")
                return Hangup(0.0)
        elif not route.write and reply.is_json_success and rolled.malformed:
            recorder.fault("malformed")
            reply.body = truncate(reply.body)
        return reply

    def _limited(self, reply: Reply, info: LimitInfo, faults: Faults, route: Route) -> Reply:
        reply.headers.update(self._limit_headers(429, info, faults, route))
        return reply

    def _limit_headers(
        self, status: int, info: LimitInfo, faults: Faults, route: Route
    ) -> dict[str, str]:
        """The rate-limit headers for a reply of `route`, in the units Faults.retry_after asks
        for."""
        units = self.emulator.limit_header_units(status, route.template)
        style = faults.retry_after
        if style == "none":
            units = {name: unit for name, unit in units.items() if unit not in TIME_UNITS}
        elif style != "provider":
            if status == 429:
                units = {
                    "X-RateLimit-Limit": LIMIT,
                    "X-RateLimit-Remaining": REMAINING,
                    "X-RateLimit-Reset": style,
                    "Retry-After": style,
                }
            else:
                units = {
                    name: style if unit in TIME_UNITS else unit for name, unit in units.items()
                }
        return {name: header_value(unit, info) for name, unit in units.items()}
