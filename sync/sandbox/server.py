"""The sandbox: one provider's emulator served over HTTP on loopback, its lifecycle, and the
routing of each request to the emulator's route.

How a request is answered (faults, auth, the rate limit, the provider's work) is in
answering.py; the server and its connections in http_wire.py.
"""

from __future__ import annotations

import secrets
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sync.sandbox.answering import Answer, Answering, FaultState, Outcome
from sync.sandbox.base import (
    Emulator,
    Options,
    Request,
    Route,
    match_route,
)
from sync.sandbox.faults import Faults
from sync.sandbox.http_wire import SandboxServer
from sync.sandbox.stats import SandboxStats, StatsRecorder

UNKNOWN_ROUTE = "<unknown>"  # the template stats count unmatched paths under


class Sandbox:
    """One provider's partner API, served over HTTP on loopback.

    Args:
        provider: "dub", "partnero" or "promotekit".
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
        seed: partners to start with, in the provider's create-body shape.
        faults: what to inject; none by default.
        rate_limit: requests per `window` per API key; None is the provider's default
            (dub 1200, partnero 600, promotekit 200), 0 is unlimited.
        window: the rate-limit window in seconds; None is the provider's (60, Rewardful's
            30, Tolt's 1).
        api_key: the only bearer token accepted; None accepts any well-formed one.
        partners_limit: Dub's plan cap on enrolled partners (403 beyond it).
        email_lookup: whether Partnero's undocumented GET /v1/partner answers.
        groups: Dub's partner groups besides `default`, each with an `id` (grp_…) and/or
            a `slug`, and a `programId` to make it another program's group.
        restored: `seed` is an earlier run's `stored_partners()`: new ids must not repeat
            the ones the first run handed out.
        on_first_request: called once, before the first request is answered.

    Raises:
        ValueError: an unknown provider, a negative rate limit, or a bad seed record.

    Example:
        with Sandbox("dub", seed=[{"email": "ann@example.com"}]) as sandbox:
            client = httpx.Client(base_url=sandbox.base_url)
    """

    def __init__(
        self,
        provider: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: Sequence[Mapping[str, Any]] | None = None,
        faults: Faults | None = None,
        rate_limit: int | None = None,
        window: float | None = None,
        api_key: str | None = None,
        partners_limit: int | None = None,
        email_lookup: bool = True,
        groups: Sequence[Mapping[str, Any]] = (),
        restored: bool = False,
        on_first_request: Callable[[], None] | None = None,
    ) -> None:
        """Set up the emulator (the arguments: the class docstring); nothing listens until
        start()."""
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be 0 (unlimited) or a positive number per window")
        self.provider = provider
        options = Options(
            api_key=api_key,
            partners_limit=partners_limit,
            email_lookup=email_lookup,
            groups=tuple(groups),
        )
        self._emulator = _emulator(provider, options, seed, restored=restored)
        self._routes: Sequence[Route] = self._emulator.routes
        limit = self._emulator.default_rate_limit if rate_limit is None else rate_limit
        self._faults = FaultState(faults or Faults())
        self.recorder = StatsRecorder()
        self._answering = Answering(self._emulator, limit, window, self._faults, self.recorder)
        self._host = host
        self._requested_port = port
        self._httpd: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # set by stop(): cuts short every stall and latency
        self._on_first_request = on_first_request
        self._first_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("this sandbox is already running")
        self.stopping.clear()
        self._httpd = SandboxServer((self._host, self._requested_port), self)
        self._emulator.base_url = self.base_url
        self._faults.restart_outage()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how quickly stop() is noticed
            name=f"sandbox-{self.provider}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and cut short any stall or latency sleep."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C) or stopped from another thread."""
        if self._httpd is None:
            self.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the requested one before start)."""
        if self._httpd is not None:
            return int(self._httpd.server_address[1])
        return self._requested_port

    @property
    def base_url(self) -> str:
        """What a client passes as its base URL, including the provider's base path."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}{self._emulator.base_path}"

    # --- state and settings ---------------------------------------------------------------

    @property
    def stats(self) -> SandboxStats:
        return self.recorder.stats

    def reset_stats(self) -> None:
        self.recorder.reset()

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; the draw restarts from their seed and down_for from now."""
        self._faults.replace(faults)

    def partners(self) -> list[dict[str, Any]]:
        """A snapshot of the stored partners, in the provider's response shape."""
        return self._emulator.partners()

    def stored_partners(self) -> list[dict[str, Any]]:
        """The stored partners as seed records that recreate them (`seed=`, `restored=True`)."""
        return self._emulator.stored_partners()

    def add_partner(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a partner as if someone created it in the provider's UI."""
        return self._emulator.add_partner(fields)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of emulator bugs, each answered as the provider's 500."""
        return list(self._answering.internal_errors)

    # --- the pipeline ---------------------------------------------------------------------

    def dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        """Run one request through the pipeline; counts it as begun (the caller ends it)."""
        if self._on_first_request is not None:
            with self._first_lock:
                first, self._on_first_request = self._on_first_request, None
            if first is not None:
                first()
        split = urlsplit(target)
        path = unquote(split.path)
        base = self._emulator.base_path
        relative: str | None = path
        if base:
            relative = path[len(base) :] if path == base or path.startswith(base + "/") else None
        matched = match_route(self._routes, method, relative) if relative is not None else None
        self.recorder.begin(method, matched[0].template if matched else UNKNOWN_ROUTE)
        request = Request(
            method=method,
            path=relative if relative is not None else path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            params=matched[1] if matched else {},
        )
        try:
            return self._answering.answer(request, matched[0] if matched else None)
        except Exception:
            # Never leave a begun request unanswered: a bug reads as the provider's 500.
            self._answering.internal_errors.append(traceback.format_exc())
            return Answer(self._emulator.server_error(500), 0.0)


def _emulator(
    provider: str, options: Options, seed: Sequence[Mapping[str, Any]] | None, *, restored: bool
) -> Emulator:
    """The provider's emulator, seeded; a `restored` one draws new ids afresh, so that they do
    not repeat the ones the first run handed out."""
    # Imported here: the registry imports the emulators, whose package imports this module.
    from sync.registry import emulator_of

    emulator = emulator_of(provider)(options)
    if restored:
        emulator.rng.seed(secrets.randbits(64))
    if seed:
        emulator.seed(list(seed))
    return emulator
