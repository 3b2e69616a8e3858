"""Counters a sandbox keeps about the traffic it served, safe to update from many threads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class SandboxStats:
    """What the sandbox saw since it started (or since the last reset)."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (method, route template)
    total: int = 0  # every request received, faulted ones included
    creates_committed: int = 0  # writes that changed stored state
    rate_limited: int = 0  # 429s answered, real limit and injected bursts alike
    faults: Counter[str] = field(default_factory=Counter)  # injected faults by kind
    max_in_flight: int = 0  # peak number of requests being handled at once
    first_commit: float | None = None  # time.monotonic() of the first write that changed state
    last_commit: float | None = None  # ... and of the last one


class StatsRecorder:
    """Updates one SandboxStats under a lock; readers may read fields without it."""

    def __init__(self) -> None:
        self.stats = SandboxStats()
        self._lock = threading.Lock()
        self._in_flight = 0

    def begin(self, method: str, template: str) -> None:
        with self._lock:
            self.stats.total += 1
            self.stats.requests[(method, template)] += 1
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.stats.faults[kind] += 1

    def rate_limited(self) -> None:
        with self._lock:
            self.stats.rate_limited += 1

    def committed(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.stats.creates_committed += 1
            if self.stats.first_commit is None:
                self.stats.first_commit = now
            self.stats.last_commit = now

    def reset(self) -> None:
        """Zero every counter in place, so references to `stats` stay valid."""
        with self._lock:
            self.stats.requests.clear()
            self.stats.faults.clear()
            self.stats.total = 0
            self.stats.creates_committed = 0
            self.stats.rate_limited = 0
            self.stats.first_commit = self.stats.last_commit = None
            self.stats.max_in_flight = self._in_flight
