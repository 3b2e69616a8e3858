"""Fault settings for a sandbox, and the reproducible draw of which faults hit one request."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

RETRY_AFTER_STYLES = ("provider", "seconds", "epoch-seconds", "epoch-ms", "none")

_PROBABILITIES = (
    "error_before",
    "error_after",
    "timeout_after",
    "drop",
    "drop_after",
    "burst_429",
    "malformed",
    "html_error",
)


@dataclass
class Faults:
    """What can go wrong, and how often. Probabilities are per request, in [0, 1]."""

    latency: float = 0.0  # seconds added before every response
    jitter: float = 0.0  # +/- uniform seconds around latency
    error_before: float = 0.0  # 500/502/503 in the provider's error body, no work done
    error_after: float = 0.0  # writes: commit, then answer 500
    timeout_after: float = 0.0  # writes: commit, stall `stall` seconds, close without a response
    drop: float = 0.0  # close the connection without a response, no work done
    drop_after: float = 0.0  # writes: commit, then close without a response
    stall: float = 30.0
    burst_429: float = 0.0  # a request starts a burst: it and the next burst_len-1 get 429
    burst_len: int = 5
    retry_after: str = "provider"  # unit of Retry-After / X-RateLimit-Reset on 429
    retry_after_seconds: float = 1.0  # how long injected bursts ask clients to wait
    malformed: float = 0.0  # reads: 200 with a truncated JSON body
    html_error: float = 0.0  # 502 with an HTML proxy error page, no work done
    down_for: float = 0.0  # seconds from start()/set_faults() during which every request gets 503
    seed: int = 0  # faults are drawn from random.Random(seed)

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} is a probability in [0, 1], got {value!r}")
        for name in ("latency", "jitter", "stall", "retry_after_seconds", "down_for"):
            if getattr(self, name) < 0:
                raise ValueError(f"Faults.{name} must not be negative")
        if self.burst_len < 1:
            raise ValueError("Faults.burst_len must be at least 1")
        if self.retry_after not in RETRY_AFTER_STYLES:
            raise ValueError(
                f"Faults.retry_after must be one of {', '.join(RETRY_AFTER_STYLES)}; "
                f"got {self.retry_after!r}"
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every field name, in declaration order (for command-line options)."""
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Draw:
    """The faults one request is subject to; drawn up front so a seed replays the same run."""

    html_error: bool
    drop: bool
    error_before: int | None  # the status to answer, or None
    starts_burst: bool
    error_after: bool
    timeout_after: bool
    drop_after: bool
    malformed: bool
    delay: float


def draw(faults: Faults, rng: random.Random) -> Draw:
    """Roll every fault for one request; always the same number of draws, whatever is enabled."""
    u = [rng.random() for _ in range(10)]
    delay = faults.latency + (2 * u[9] - 1) * faults.jitter if faults.jitter else faults.latency
    return Draw(
        html_error=u[0] < faults.html_error,
        drop=u[1] < faults.drop,
        error_before=(500, 502, 503)[min(2, int(u[3] * 3))] if u[2] < faults.error_before else None,
        starts_burst=u[4] < faults.burst_429,
        error_after=u[5] < faults.error_after,
        timeout_after=u[6] < faults.timeout_after,
        drop_after=u[7] < faults.drop_after,
        malformed=u[8] < faults.malformed,
        delay=max(0.0, delay),
    )


HTML_BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def truncate(body: bytes) -> bytes:
    """Cut a JSON body so that it no longer parses (a bare number would still parse: emptied)."""
    cut = body[: len(body) // 2]
    if cut.lstrip()[:1] in (b"{", b"["):
        return cut
    return b""
