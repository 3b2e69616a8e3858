"""A provider that misbehaves on purpose: a threaded HTTP server on loopback whose every answer
a test writes, and which records every request it got (with its arrival time)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Got:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float  # time.time() on arrival
    body: Any = None  # the JSON the request carried


@dataclass
class Answer:
    """What to send back. `body` is bytes, or anything JSON can encode (None: no body)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between single bytes of the body
    endless: bool = False  # after the body, filler bytes until the client hangs up
    content_length: int | None = None  # announce this length instead (-1: none, close after)
    drop: bool = False  # close the connection without answering


Handler = Callable[[Got], Answer]


class Misbehaving:
    """Serve `handler`'s answers at `base_url` for the length of a `with` block."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.got: list[Got] = []
        owner = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                sent = json.loads(self.rfile.read(length)) if length else None
                got = Got(
                    self.command,
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    time.time(),
                    sent,
                )
                owner.got.append(got)
                answer = owner.handler(got)
                try:
                    self._reply(answer)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _reply(self, answer: Answer) -> None:
                if answer.drop:
                    self.close_connection = True
                    return
                body = answer.body
                if body is not None and not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                body = body or b""
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                length = answer.content_length
                if length == -1:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if answer.trickle:
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(answer.trickle)
                else:
                    self.wfile.write(body)
                if answer.endless:
                    filler = b" " * 65536
                    while True:
                        self.wfile.write(filler)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests(self, method: str, path: str | None = None) -> list[Got]:
        return [g for g in self.got if g.method == method and (path is None or g.path == path)]

    def __enter__(self) -> Misbehaving:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def dub(
    *,
    count: int = 0,
    page: Callable[[Got], Answer] | None = None,
    lookup: Callable[[Got], Answer] | None = None,
    create: Callable[[Got], Answer] | None = None,
) -> Handler:
    """A Dub-shaped handler: count, list pages and lookups answer an empty account unless told
    otherwise; a create answers 201 with the partner it was sent."""
    created = iter(range(1, 1_000_000))

    def handle(got: Got) -> Answer:
        if got.path == "/partners/count":
            return Answer(body=count)
        if got.method == "GET" and got.path == "/partners":
            if "email" in got.query or "tenantId" in got.query:
                return lookup(got) if lookup else Answer(body=[])
            return page(got) if page else Answer(body=[])
        if got.method == "POST" and got.path == "/partners":
            if create:
                return create(got)
            return Answer(201, {"id": f"pn_{next(created)}", "email": got.body["email"]})
        return Answer(404, {"error": {"code": "not_found", "message": "no such route"}})

    return handle
