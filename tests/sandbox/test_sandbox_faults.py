"""Fault injection: each kind, its place in the pipeline, latency, reproducibility and stats."""

from __future__ import annotations

import json
import random
import threading
import time

import httpx
import pytest
from support.sandboxes import people
from support.waiting import wait_until

from sync.sandbox import Faults
from sync.sandbox.faults import draw


def create(client, email="new@example.com"):
    return client.post("/partners", json={"email": email})


def test_faults_are_validated():
    with pytest.raises(ValueError, match="probability"):
        Faults(drop=1.5)
    with pytest.raises(ValueError, match="retry_after"):
        Faults(retry_after="minutes")


def test_drop_closes_without_a_response_and_does_no_work(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(drop=1.0))
    client = make_client(sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        create(client)
    assert sandbox.partners() == []
    assert sandbox.stats.faults["drop"] == 1
    assert sandbox.stats.total == 1


def test_drop_after_commits_then_closes(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(drop_after=1.0))
    client = make_client(sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        create(client)
    assert [p["email"] for p in sandbox.partners()] == ["new@example.com"]
    assert sandbox.stats.creates_committed == 1
    assert client.get("/partners").status_code == 200  # reads are not affected


def test_timeout_after_commits_then_stalls(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(timeout_after=1.0, stall=60.0))
    client = make_client(sandbox, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        create(client)
    # The client gave up on the stall (a minute), not on an answer that came.
    assert time.monotonic() - started < 30
    # The write was committed, whether before or after the client stopped waiting.
    wait_until(lambda: len(sandbox.partners()) == 1, "the stalled create to be committed")
    assert sandbox.stats.faults["timeout_after"] == 1


def test_timeout_after_closes_the_connection_once_the_stall_ends(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", faults=Faults(timeout_after=1.0, stall=0.2))
    with pytest.raises(httpx.RemoteProtocolError):
        make_client(sandbox).post("/v1/partners", json={"email": "a@example.com"})
    assert len(sandbox.partners()) == 1


def test_error_after_commits_then_answers_500(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(error_after=1.0))
    client = make_client(sandbox)
    response = create(client)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_server_error"
    assert len(sandbox.partners()) == 1
    assert client.get("/partners").status_code == 200


def test_error_before_does_no_work(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", faults=Faults(error_before=1.0))
    client = make_client(sandbox)
    statuses = {
        client.post("/v1/partners", json={"email": f"p{i}@example.com"}).status_code
        for i in range(12)
    }
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert sandbox.partners() == []
    assert sandbox.stats.faults["error_before"] == 12
    assert sandbox.stats.creates_committed == 0


def test_malformed_truncates_successful_reads_only(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=people(3), faults=Faults(malformed=1.0))
    client = make_client(sandbox)
    response = client.get("/partners")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()
    with pytest.raises(json.JSONDecodeError):
        client.get("/partners/count").json()  # a bare number cannot stay valid
    assert create(client).json()["email"] == "new@example.com"


def test_html_error_is_a_proxy_page(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit", faults=Faults(html_error=1.0))
    response = make_client(sandbox).get("/affiliates")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert b"502 Bad Gateway" in response.content


def test_down_for_answers_503_until_it_ends(make_sandbox, make_client):
    started = time.monotonic()
    sandbox = make_sandbox("dub", faults=Faults(down_for=2.0))
    client = make_client(sandbox)
    down = client.get("/partners")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "internal_server_error"
    # Down until 2 s after the start, and only until then.
    downs = 1
    while (answer := client.get("/partners")).status_code == 503:
        assert time.monotonic() - started < 60, "still down a minute later"
        downs += 1
        time.sleep(0.05)
    assert answer.status_code == 200 and time.monotonic() - started >= 2.0
    sandbox.set_faults(Faults(down_for=30))
    assert client.get("/partners").status_code == 503
    sandbox.set_faults(Faults())
    assert client.get("/partners").status_code == 200
    assert sandbox.stats.faults["down"] == downs + 1


def _seed_with_one_burst(probability: float, quiet_after: int) -> int:
    """A fault seed whose first request starts a burst and the next few do not."""
    faults = Faults(burst_429=probability)
    for seed in range(10_000):
        rng = random.Random(seed)
        starts = [draw(faults, rng).starts_burst for _ in range(quiet_after + 1)]
        if starts[0] and not any(starts[1:]):
            return seed
    raise AssertionError("no such seed")


def test_burst_429_lasts_burst_len_requests(make_sandbox, make_client):
    seed = _seed_with_one_burst(0.2, quiet_after=6)
    faults = Faults(
        burst_429=0.2, burst_len=3, seed=seed, retry_after="seconds", retry_after_seconds=2
    )
    sandbox = make_sandbox("dub", faults=faults, rate_limit=0)
    client = make_client(sandbox)
    statuses = [client.get("/partners").status_code for _ in range(6)]
    assert statuses == [429, 429, 429, 200, 200, 200]
    sandbox.set_faults(Faults(burst_429=1.0, retry_after="seconds", retry_after_seconds=2))
    headers = client.get("/partners").headers
    assert headers["Retry-After"] == "2"
    assert headers["X-RateLimit-Reset"] == "2"
    assert headers["X-RateLimit-Limit"] == "1200"  # nothing enforced: the provider default
    assert sandbox.stats.rate_limited == 4
    assert sandbox.stats.faults["burst_429"] == 4


@pytest.mark.parametrize(
    ("provider", "path", "style", "expect"),
    [
        ("dub", "/partners", "provider", "epoch-ms"),
        ("partnero", "/v1/partners", "provider", "seconds"),
        ("promotekit", "/affiliates", "provider", None),
        ("promotekit", "/affiliates", "epoch-seconds", "epoch-seconds"),
        ("dub", "/partners", "epoch-ms", "epoch-ms"),
        ("dub", "/partners", "none", None),
    ],
)
def test_retry_after_units(make_sandbox, make_client, provider, path, style, expect):
    faults = Faults(burst_429=1.0, retry_after=style, retry_after_seconds=5)
    client = make_client(make_sandbox(provider, faults=faults))
    before = time.time()
    response = client.get(path)
    after = time.time()
    assert response.status_code == 429
    value = response.headers.get("Retry-After")
    if expect is None:
        assert value is None
        return
    number = int(value)
    if expect == "seconds":
        assert number == 5
    elif expect == "epoch-seconds":  # rounded up to the second
        assert before + 5 <= number <= after + 6
    else:
        assert (before + 5) * 1000 <= number <= (after + 5) * 1000 + 1


def test_latency_delays_every_answer_including_errors(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(latency=0.15))
    for token in ("dub_key", None):
        client = make_client(sandbox, token=token)
        started = time.monotonic()
        client.get("/partners")
        assert time.monotonic() - started >= 0.14


def test_requests_are_in_flight_together_during_latency(make_sandbox, make_client):
    sandbox = make_sandbox("dub", faults=Faults(latency=1.0))
    clients = [make_client(sandbox) for _ in range(10)]
    together = threading.Barrier(len(clients))
    results: list[int] = []

    def call(i: int) -> None:
        together.wait()
        results.append(create(clients[i], f"p{i}@example.com").status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [201] * 10
    # All ten answered at once: one after another they would take 10 s.
    assert sandbox.stats.max_in_flight == 10
    assert time.monotonic() - started < 9
    assert sandbox.stats.creates_committed == 10


def test_the_fault_seed_replays_the_same_run(make_sandbox, make_client):
    def run() -> list[int]:
        sandbox = make_sandbox("dub", faults=Faults(error_before=0.5, seed=7))
        client = make_client(sandbox)
        return [client.get("/partners").status_code for _ in range(15)]

    first = run()
    assert first == run()
    assert 200 in first and any(status >= 500 for status in first)


def test_stats_count_every_request_by_route(make_sandbox, make_client):
    sandbox = make_sandbox("dub")
    client = make_client(sandbox)
    create(client)
    create(client)  # the upsert returns the same partner: nothing committed
    client.get("/partners")
    pid = sandbox.partners()[0]["id"]
    client.get(f"/partners/{pid}")
    client.get("/nowhere")
    stats = sandbox.stats
    assert stats.requests[("POST", "/partners")] == 2
    assert stats.requests[("GET", "/partners")] == 1
    assert stats.requests[("GET", "/partners/{partnerId}")] == 1
    assert stats.requests[("GET", "<unknown>")] == 1
    assert stats.total == 5
    assert stats.creates_committed == 1
    assert stats.max_in_flight == 1
    sandbox.reset_stats()
    assert stats.total == 0 and not stats.requests and stats.creates_committed == 0
