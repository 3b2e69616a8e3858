"""The sandbox HTTP server: routing, auth, rate limiting, fault injection, latency and stats.

Every request runs the same pipeline, in this order:

    down_for -> html_error -> drop -> error_before -> route -> auth
    -> rate limit (Upstash's sliding window per key) / burst_429 -> the provider's work
    -> writes: error_after / timeout_after / drop_after -> reads: malformed -> latency -> reply

Only state changes take the emulator's lock; latency and stalls are slept without any lock,
so many requests can be in flight at once.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sync.sandbox.base import (
    LIMIT,
    REMAINING,
    TIME_UNITS,
    LimitInfo,
    Options,
    Reply,
    Request,
    Route,
    header_value,
    match_route,
)
from sync.sandbox.faults import HTML_BAD_GATEWAY, Draw, Faults, draw, truncate
from sync.sandbox.stats import SandboxStats, StatsRecorder

UNKNOWN_ROUTE = "<unknown>"  # the template stats count unmatched paths under


@dataclass(frozen=True)
class _Answer:
    reply: Reply
    delay: float


@dataclass(frozen=True)
class _Hangup:
    stall: float  # seconds to hold the connection before closing it without a response


_Outcome = _Answer | _Hangup


class Sandbox:
    """One provider's partner API, served over HTTP on loopback.

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
        """Set up the emulator; nothing listens until start().

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
        """
        # Imported here: the registry imports the emulators, whose package imports this module.
        from sync.registry import emulator_of

        emulator = emulator_of(provider)
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be 0 (unlimited) or a positive number per window")
        self.provider = provider
        self._emulator = emulator(
            Options(
                api_key=api_key,
                partners_limit=partners_limit,
                email_lookup=email_lookup,
                groups=tuple(groups),
            )
        )
        if restored:
            self._emulator.rng.seed(secrets.randbits(64))
        if seed:
            self._emulator.seed(list(seed))
        self._routes: Sequence[Route] = self._emulator.routes
        limit = self._emulator.default_rate_limit if rate_limit is None else rate_limit
        self._limiter = (
            self._emulator.make_limiter(limit, window or self._emulator.default_window)
            if limit
            else None
        )
        # Injected 429s still report a limit, the provider's default when none is enforced.
        self._header_limit = limit or self._emulator.default_rate_limit
        self._faults = faults or Faults()
        self._fault_lock = threading.Lock()
        self._fault_rng = random.Random(self._faults.seed)
        self._burst_left = 0
        self._down_until = 0.0
        self._recorder = StatsRecorder()
        self._host = host
        self._requested_port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._internal_errors: list[str] = []
        self._on_first_request = on_first_request
        self._first_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("this sandbox is already running")
        self._stopping.clear()
        self._httpd = _Server((self._host, self._requested_port), self)
        self._emulator.base_url = self.base_url
        with self._fault_lock:
            self._down_until = time.monotonic() + self._faults.down_for
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
        self._stopping.set()
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
            while not self._stopping.wait(0.5):
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
        return self._recorder.stats

    def reset_stats(self) -> None:
        self._recorder.reset()

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; the draw restarts from their seed and down_for from now."""
        with self._fault_lock:
            self._faults = faults
            self._fault_rng = random.Random(faults.seed)
            self._burst_left = 0
            self._down_until = time.monotonic() + faults.down_for

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
        return list(self._internal_errors)

    # --- the pipeline ---------------------------------------------------------------------

    def _draw(self) -> tuple[Faults, Draw, bool]:
        """The faults in force, this request's roll of them, and whether the service is down."""
        with self._fault_lock:
            faults = self._faults
            rolled = draw(faults, self._fault_rng)
            return faults, rolled, time.monotonic() < self._down_until

    def _take_burst(self, faults: Faults, rolled: Draw) -> bool:
        with self._fault_lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                return True
            if rolled.starts_burst:
                self._burst_left = faults.burst_len - 1
                return True
            return False

    def _dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> _Outcome:
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
        self._recorder.begin(method, matched[0].template if matched else UNKNOWN_ROUTE)
        request = Request(
            method=method,
            path=relative if relative is not None else path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            params=matched[1] if matched else {},
        )
        try:
            return self._pipeline(request, matched[0] if matched else None)
        except Exception:
            # Never leave a begun request unanswered: a bug reads as the provider's 500.
            self._internal_errors.append(traceback.format_exc())
            return _Answer(self._emulator.server_error(500), 0.0)

    def _pipeline(self, request: Request, route: Route | None) -> _Outcome:
        faults, rolled, down = self._draw()
        emulator = self._emulator

        def answer(reply: Reply) -> _Answer:
            return _Answer(reply, rolled.delay)

        if down:
            self._recorder.fault("down")
            return answer(emulator.server_error(503))
        if rolled.html_error:
            self._recorder.fault("html_error")
            return answer(Reply(502, HTML_BAD_GATEWAY, content_type="text/html"))
        if rolled.drop:
            self._recorder.fault("drop")
            return _Hangup(0.0)
        if rolled.error_before is not None:
            self._recorder.fault("error_before")
            return answer(emulator.server_error(rolled.error_before))
        if route is None:
            return answer(emulator.unknown_route(request))
        refused = emulator.authenticate(request)
        if refused is not None:
            return answer(refused)

        info: LimitInfo | None = None
        now = time.time()
        if self._limiter is not None:
            verdict = self._limiter.hit(emulator.key_of(request) or "")
            info = LimitInfo(verdict.limit, verdict.remaining, verdict.reset_at, verdict.now)
            if not verdict.allowed:
                self._recorder.rate_limited()
                return answer(self._limited(emulator.too_many_requests(), info, faults, route))
        if self._take_burst(faults, rolled):
            self._recorder.fault("burst_429")
            self._recorder.rate_limited()
            burst = LimitInfo(self._header_limit, 0, now + faults.retry_after_seconds, now)
            return answer(self._limited(emulator.too_many_requests(), burst, faults, route))

        try:
            reply = route.handler(request)
        except Exception:
            self._internal_errors.append(traceback.format_exc())
            reply = emulator.server_error(500)
        if reply.committed:
            self._recorder.committed()

        if route.write and 200 <= reply.status < 300:
            if rolled.error_after:
                self._recorder.fault("error_after")
                reply = emulator.server_error(500)
            elif rolled.timeout_after:
                self._recorder.fault("timeout_after")
                return _Hangup(faults.stall)
            elif rolled.drop_after:
                self._recorder.fault("drop_after")
                return _Hangup(0.0)
        elif not route.write and reply.is_json_success and rolled.malformed:
            self._recorder.fault("malformed")
            reply.body = truncate(reply.body)
        if info is not None:
            reply.headers.update(self._limit_headers(reply.status, info, faults, route))
        return answer(reply)

    def _limited(self, reply: Reply, info: LimitInfo, faults: Faults, route: Route) -> Reply:
        reply.headers.update(self._limit_headers(429, info, faults, route))
        return reply

    def _limit_headers(
        self, status: int, info: LimitInfo, faults: Faults, route: Route
    ) -> dict[str, str]:
        """The rate-limit headers for a reply of `route`, in the units Faults.retry_after asks
        for."""
        units = self._emulator.limit_header_units(status, route.template)
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


class _Server(ThreadingHTTPServer):
    """A threading server that knows its sandbox and can cut its open connections."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-reply are routine here (drops, timeouts); stay quiet.
        return

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every reply has a Content-Length."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply on a kept-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: no request log on stderr

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            return
        sandbox = self.server.sandbox
        outcome = sandbox._dispatch(self.command, self.path, dict(self.headers.items()), body)
        try:
            self._deliver(outcome, sandbox._stopping)
        finally:
            sandbox._recorder.end()

    def _deliver(self, outcome: _Outcome, stopping: threading.Event) -> None:
        if isinstance(outcome, _Hangup):
            if outcome.stall:
                stopping.wait(outcome.stall)
            self.close_connection = True
            return
        if outcome.delay:
            stopping.wait(outcome.delay)
        reply = outcome.reply
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body, by Content-Length or chunked; None when the framing is broken."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        return self.rfile.read(size) if size > 0 else b""

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                # Trailers, if any, end with an empty line.
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(65537)
