"""HTTP plumbing: keep-alive, framing, chunked bodies, quiet threads and the lifecycle."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest
from support.waiting import wait_until

from sync.sandbox import Faults, Sandbox


def test_connections_are_kept_alive_and_every_reply_has_a_length(make_sandbox, make_client):
    sandbox = make_sandbox("partnero")
    client = make_client(sandbox)
    for _ in range(5):
        response = client.get("/v1/partners")
        assert response.http_version == "HTTP/1.1"
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert response.headers.get("Connection", "").lower() != "close"
    assert len(sandbox._httpd._connections) == 1  # one socket served all five


def test_chunked_request_bodies_are_read(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    body = iter([b'{"email":', b' "chunked@example.com"}'])
    response = client.post("/partners", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["email"] == "chunked@example.com"


def test_nothing_is_written_to_stderr(make_sandbox, make_client, capfd):
    sandbox = make_sandbox("dub", faults=Faults(drop=0.3, error_before=0.3, seed=3))
    client = make_client(sandbox)
    for _ in range(10):
        with contextlib.suppress(httpx.TransportError):
            client.get("/partners")
    client.get("/nowhere")
    assert capfd.readouterr().err == ""


def test_stop_cuts_a_stall_short(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(timeout_after=1.0, stall=120))
    client = make_client(sandbox, timeout=120)
    errors: list[Exception] = []

    def post() -> None:
        try:
            client.post("/partners", json={"email": "a@example.com"})
        except httpx.TransportError as exc:
            errors.append(exc)

    worker = threading.Thread(target=post)
    worker.start()
    wait_until(lambda: sandbox.stats.faults["timeout_after"] == 1, "the create to stall")
    started = time.monotonic()
    sandbox.stop()
    worker.join(timeout=120)
    # Cut short: the stall (and the client's patience) would have lasted two minutes.
    assert time.monotonic() - started < 30
    assert len(errors) == 1


def test_serve_forever_returns_when_stopped_elsewhere():
    sandbox = Sandbox("promotekit")
    runner = threading.Thread(target=sandbox.serve_forever)
    runner.start()
    wait_until(lambda: sandbox._httpd is not None, "the sandbox to serve")
    with httpx.Client(base_url=sandbox.base_url, headers={"Authorization": "Bearer k"}) as client:
        assert client.get("/affiliates").status_code == 200
    sandbox.stop()
    runner.join(timeout=60)
    assert not runner.is_alive()


def test_context_manager_binds_a_free_port_and_releases_it():
    with Sandbox("dub") as sandbox:
        port = sandbox.port
        assert port > 0
        assert sandbox.base_url == f"http://127.0.0.1:{port}"
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(f"http://127.0.0.1:{port}/partners")


def test_a_running_sandbox_cannot_start_twice(make_sandbox):
    sandbox = make_sandbox("dub")
    with pytest.raises(RuntimeError, match="already running"):
        sandbox.start()
