"""A clock that moves only when the test moves it, for whatever takes an injectable clock."""

from __future__ import annotations


class SetClock:
    """Reads `now` (seconds); the test sets or advances it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
