from __future__ import annotations

import asyncio
import heapq
import itertools

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
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep, safety=1.0, headroom=0)
    times = []

    async def go():
        for _ in range(11):
            await limiter.acquire()
            times.append(clock.now)

    run(clock.drive(go()))
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(1.0)  # 10 intervals of 0.1 s


def test_the_slots_it_returns_keep_the_rate_however_late_a_sleep_wakes():
    """The pace line is measured on the returned slots: a first wake-up 40 ms late (a busy
    machine) made 15 creates at a 20/s budget look like 20.7/s when measured on wake-ups."""
    clock = FakeClock()
    late = [0.04]

    async def oversleeping(seconds: float) -> None:
        await clock.sleep(seconds + (late.pop() if late else 0.0))

    limiter = RateLimiter(1200, clock=clock, sleep=oversleeping)
    slots: list[float] = []

    async def go():
        await limiter.acquire()  # the budget's first slot is free: it does not sleep
        for _ in range(14):
            slots.append(await limiter.acquire())

    run(clock.drive(go()))
    assert min(b - a for a, b in itertools.pairwise(slots)) >= limiter.interval - 1e-9
    assert (len(slots) - 1) / (slots[-1] - slots[0]) <= limiter.paced_per_minute / 60 + 1e-9


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
    # 1% under 120 is less than two requests: the pace keeps two per minute unused.
    assert limiter.paced_per_minute == 118
    assert len(stamps) == 800 and stamps[-1] == pytest.approx(799 * 60 / 118)


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


def simulate(limiter, clock, provider_limit, requests, workers=8, jitter=0.0, seed=0):
    """Workers send `requests` through `limiter` to a provider counting Upstash's sliding
    window (Dub's; the sandbox's limiter) in virtual time; a refusal states the limit and the
    reset, as Dub's do. `jitter` seconds shift each arrival at the provider, either way."""
    import random

    from sync.sandbox.ratelimit import SlidingWindow

    rng = random.Random(seed)
    window = SlidingWindow(
        provider_limit, 60.0, clock=lambda: clock.now + rng.uniform(-jitter, jitter)
    )
    sent: list[float] = []
    refused: list[float] = []
    left = [requests]

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            while True:
                await limiter.acquire()
                verdict = window.hit("key")
                if verdict.allowed:
                    sent.append(clock.now)
                    break
                refused.append(clock.now)
                limiter.rate_limited(provider_limit)
                limiter.pause_for(verdict.reset_in)

    run(clock.drive(*(worker() for _ in range(workers))))
    return sent, refused


def test_a_known_budget_is_never_refused():
    clock = FakeClock()
    limiter = RateLimiter(1200, clock=clock, sleep=clock.sleep)
    sent, refused = simulate(limiter, clock, 1200, 3000)
    assert refused == [] and limiter.changes == []
    assert len(sent) / (sent[-1] - sent[0]) == pytest.approx(20 * 0.99, rel=0.01)


@pytest.mark.parametrize("limit", [60, 600, 3000])
def test_pacing_exactly_at_the_plan_meets_429s_at_minute_boundaries(limit):
    """Why the pace keeps a margin: Upstash weighs the previous fixed minute, so a steady rate
    of exactly the limit reaches it at a boundary, and the reset (the end of the minute) then
    costs most of a minute."""
    clock = FakeClock()  # starts on a minute boundary
    limiter = RateLimiter(limit, clock=clock, sleep=clock.sleep, safety=1.0, headroom=0)
    _, refused = simulate(limiter, clock, limit, limit * 2)
    assert refused and all(abs(t - round(t / 60) * 60) < 1 for t in refused)


@pytest.mark.parametrize(
    ("limit", "start", "seed"),
    [(60, 0.0, 1), (60, 59.9, 2), (120, 17.3, 3), (600, 0.0, 4), (1200, 59.9, 5), (3000, 30.0, 6)],
)
def test_the_default_pace_is_never_refused_by_upstash(limit, start, seed):
    """Known budget: no 429 at all, even with arrivals up to half an interval early or late."""
    clock = FakeClock()
    clock.now = start
    limiter = RateLimiter(limit, clock=clock, sleep=clock.sleep)
    half_interval = 30 / limit
    sent, refused = simulate(limiter, clock, limit, limit * 5 // 2, jitter=half_interval, seed=seed)
    assert refused == []
    rate = (len(sent) - 1) / (sent[-1] - sent[0]) * 60
    assert rate == pytest.approx(limiter.paced_per_minute, rel=0.002)
    assert rate >= min(limit * 0.99, limit - 2) - 0.1


def test_a_low_guess_rises_until_the_first_429_then_keeps_to_the_stated_limit():
    clock = FakeClock()
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep, adaptive=True, ceiling=3000)
    sent, refused = simulate(limiter, clock, 1200, 6000)
    assert 0 < len(refused) <= 8  # the requests in flight when the minute's budget ran out
    assert max(rate for _, rate, _ in limiter.changes) > 1200 and limiter.per_minute == 1200
    last_refusal = refused[-1]
    assert last_refusal < 60  # found within the first minute
    # From the first 429 on: no more refusals, and the provider's minute is used in full.
    assert sum(1 for t in sent if t >= sent[-1] - 60) >= 1200 * 0.98


def test_a_high_guess_settles_at_the_first_429():
    clock = FakeClock()
    limiter = RateLimiter(3000, clock=clock, sleep=clock.sleep, adaptive=True)
    _, refused = simulate(limiter, clock, 1200, 4000)
    assert 0 < len(refused) <= 8
    assert limiter.per_minute == 1200 and not limiter.probing
    late = [t for t in refused if t > refused[0] + 1]
    assert late == []  # the requests of the last minute still count: no second wave


def test_a_configured_budget_only_comes_down_to_a_stated_limit():
    limiter = RateLimiter(600)
    limiter.learn(3000)
    assert limiter.per_minute == 600
    limiter.learn(300)
    assert limiter.per_minute == 300
    guessed = RateLimiter(600, adaptive=True)
    guessed.learn(3000)
    assert guessed.per_minute == 3000 and not guessed.probing


def test_no_window_exceeds_the_budget_after_the_rate_drops():
    clock = FakeClock()
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep, safety=1.0)
    stamps: list[float] = []

    async def go():
        for n in range(3000):
            if n == 500:
                limiter.learn(600)  # 500 went out in 5 s; the next minute allows 100 more
            await limiter.acquire()
            stamps.append(clock.now)

    run(clock.drive(go()))
    worst = max(sum(1 for t in stamps if s <= t < s + 60) for s in stamps[::25])
    assert worst <= 601


def test_only_a_limit_the_provider_states_counts_as_learned():
    limiter = RateLimiter(60, adaptive=True)
    limiter.slow_down()
    limiter.rate_limited(None)  # a 429 that states nothing moves the pace, teaches nothing
    assert limiter.changes and limiter.stated is None
    limiter.learn(300)
    assert limiter.stated == 300
