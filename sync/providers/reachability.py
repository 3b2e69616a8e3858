"""Whether a provider can be reached at all, and why a request got no answer, in words."""

from __future__ import annotations

import socket
import ssl
import time


class Reachability:
    """Whether the account's provider can be reached at all, across every request of the run.

    A provider that never answered is given up after a few failed connections (a wrong URL, a
    name that does not resolve, a TLS failure do not heal in a minute); one that answered before
    is given `outage` seconds without any answer first (a restart, a network blip).
    """

    def __init__(self, first_contact_attempts: int, outage: float) -> None:
        self._first_contact_attempts = max(first_contact_attempts, 1)
        self._outage = outage
        self.answered_once = False
        self._failing_since: float | None = None
        self._refused = 0

    def answered(self) -> None:
        self.answered_once = True
        self._failing_since, self._refused = None, 0

    def no_answer(self, *, refused: bool) -> float | None:
        """Record a request that got no answer; the seconds without one if that is too long.

        `refused`: the connection itself failed (refused, DNS, TLS, connect timeout).
        """
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        self._refused += refused
        down = now - self._failing_since
        if not self.answered_once and self._refused >= self._first_contact_attempts:
            return down
        return down if down >= self._outage else None


def why_unanswered(exc: BaseException) -> str:
    """What went wrong at the network level, in a few words: the innermost cause, which says
    more than httpx's wrapper ("All connection attempts failed")."""
    cause: BaseException = exc
    while (inner := cause.__cause__ or cause.__context__) is not None:
        cause = inner
    text = str(cause).strip()
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return f"the host name does not resolve ({text})"
    if isinstance(cause, ssl.SSLError):
        return f"TLS failed ({text})"
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
