from __future__ import annotations

import asyncio
import heapq

import pytest

from sync.ratelimit import RateLimiter


class FakeClock:
    """Virtual time: sleepers wake in order of their wake-up time, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._count, future))
        await future

    async def drive(self, *coros) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        for task in tasks:
            task.result()


def run(coro):
    return asyncio.run(coro)


def test_slots_are_evenly_spaced_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep, safety=1.0)
    times = []

    async def go():
        for _ in range(11):
            await limiter.acquire()
            times.append(clock.now)

    run(clock.drive(go()))
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(1.0)  # 10 intervals of 0.1 s


def test_no_sixty_second_window_exceeds_the_budget():
    clock = FakeClock()
    limiter = RateLimiter(120, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []

    async def worker():
        for _ in range(100):
            await limiter.acquire()
            stamps.append(clock.now)

    run(clock.drive(*(worker() for _ in range(8))))
    stamps.sort()
    worst = max(sum(1 for t in stamps if s <= t < s + 60) for s in stamps)
    assert worst <= 120
    assert len(stamps) == 800 and stamps[-1] == pytest.approx(799 * 60 / (120 * 0.99))


def test_pause_holds_every_caller_until_the_reset():
    clock = FakeClock()
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep, safety=1.0)
    times = []

    async def go():
        await limiter.acquire()
        limiter.pause_for(5.0)
        for _ in range(3):
            await limiter.acquire()
            times.append(clock.now)

    run(clock.drive(go()))
    assert times[0] >= 5.0
    assert times == sorted(times)


def test_slow_down_and_adopting_a_limit():
    limiter = RateLimiter(100)
    limiter.slow_down(0.5)
    assert limiter.per_minute == 50
    limiter.per_minute = 0
    assert limiter.per_minute >= 1  # never zero: the run would hang
