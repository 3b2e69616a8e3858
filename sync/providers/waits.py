"""What an answer's headers say about time and budget: how long to wait, and the limit stated.

Providers name a wait in Retry-After or X-RateLimit-Reset, as seconds, epoch seconds, epoch
milliseconds (Dub) or an HTTP date, and some state their budget in X-RateLimit-Limit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# Values above these are epoch timestamps, not durations: 1e12 ms is 2001, 1e9 s is 2001 too.
_EPOCH_MS_FLOOR = 1e12
_EPOCH_S_FLOOR = 1e9


def parse_wait(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After / X-RateLimit-Reset value, whatever unit it came in.

    Accepts a delay in seconds, an epoch timestamp in seconds or in milliseconds (Dub sends
    milliseconds in both headers), or an HTTP date; a time already past is no wait. Returns None
    when the value is unusable (not a number or a date, negative, not finite): the caller then
    backs off on its own.
    """
    if value is None or not value.strip():
        return None
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
        except (TypeError, ValueError, OverflowError):
            return None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        return None
    if number >= _EPOCH_MS_FLOOR:
        return max(number / 1000.0 - now, 0.0)
    if number >= _EPOCH_S_FLOOR:
        return max(number - now, 0.0)
    return number


def requested_wait(headers: Mapping[str, str]) -> float | None:
    """The wait an answer asks for (Retry-After, else X-RateLimit-Reset), in seconds, if any."""
    wait = parse_wait(headers.get("retry-after"))
    return wait if wait is not None else parse_wait(headers.get("x-ratelimit-reset"))


def stated_limit(headers: Mapping[str, str]) -> float | None:
    """The budget an X-RateLimit-Limit header states, in requests per minute, if any."""
    limit = headers.get("x-ratelimit-limit", "")
    return float(limit) if limit.isdigit() and int(limit) > 0 else None
