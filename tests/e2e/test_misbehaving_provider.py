"""The real CLI against a provider that misbehaves on purpose (tests/e2e/misbehaving.py): it
echoes the key, cannot be reached, asks for long pauses, trickles or floods its answers, lists
forever, or accepts a create without saying whom it created. Nothing leaks, nothing is sent
twice, and every run stops promptly with a message that says what happened."""

from __future__ import annotations

import contextlib
import csv
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from .conftest import DUB_KEY, Run, cli_env, run_cli, write_roster
from .misbehaving import Answer, Got, Misbehaving, dub


def sync(
    url: str,
    tmp_path: Path,
    *extra: str,
    rows: int = 1,
    env: dict[str, str] | None = None,
    process: bool = False,
):
    roster = tmp_path / "roster.csv"
    if not roster.exists():
        write_roster(roster, rows, tenant_ids=False)
    args = [
        "sync",
        str(roster),
        "--provider",
        "dub",
        "--base-url",
        url,
        "--checkpoint",
        str(tmp_path / "run.checkpoint"),
        "--report",
        str(tmp_path / "report.csv"),
        "--rate-limit",
        "6000",
        "--json-logs",
        *extra,
    ]
    started = time.monotonic()
    run = run_cli(args, env=env if env is not None else cli_env(DUB_KEY), process=process)
    return run, time.monotonic() - started


def report(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "report.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def everything_written(run: Run, tmp_path: Path) -> bytes:
    """stdout, stderr and every file the run left (report, checkpoint, its -wal and -shm)."""
    files = b"".join(path.read_bytes() for path in sorted(tmp_path.iterdir()) if path.is_file())
    return run.stdout.encode() + run.stderr.encode() + files


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port held, not listened on, for the test: a connection to it is refused, and
    no other test's server can take it meanwhile (as one could take a port merely found free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [422, 401])
def test_a_provider_that_echoes_the_key_leaks_it_nowhere(tmp_path: Path, status: int) -> None:
    key = "dub_echo_Q7w8E9r0T1y2U3i4"

    def create(got: Got) -> Answer:
        echoed = got.headers["authorization"]
        text = (
            f"bad request; you sent Authorization: {echoed} (key {key}, basic Basic dXNlcjpwdw==)"
        )
        return Answer(status, {"error": {"code": "unprocessable_entity", "message": text}})

    with Misbehaving(dub(create=create)) as server:
        # Surrounding whitespace in the variable: the key as sent is the trimmed one.
        run, _ = sync(server.base_url, tmp_path, env=cli_env(f"  {key}\n"))
    assert server.requests("POST"), "the create must have been sent"
    assert run.code == (4 if status == 401 else 1), run.output
    written = everything_written(run, tmp_path)
    assert key.encode() not in written
    assert b"dXNlcjpwdw==" not in written
    assert b"[redacted]" in written  # the provider's message is still shown, redacted
    if status == 422:
        assert report(tmp_path)[0]["status"] == "invalid"


def test_a_short_key_is_redacted_from_error_answers_too(tmp_path: Path) -> None:
    key = "k3yZ"

    def create(got: Got) -> Answer:
        return Answer(422, {"error": {"code": "bad", "message": f"token {key} is malformed"}})

    with Misbehaving(dub(create=create)) as server:
        run, _ = sync(server.base_url, tmp_path, env=cli_env(key))
    assert run.code == 1, run.output
    assert key.encode() not in everything_written(run, tmp_path)
    assert "token [redacted] is malformed" in report(tmp_path)[0]["message"]


@pytest.mark.parametrize(
    "key",
    ["dub_abc def1234567", "dub_abc\ndef1234567", "dub_abc\tdef1234567", "dub_abcdéf1234567"],
    ids=["space", "newline", "tab", "non-ascii"],
)
def test_a_malformed_key_is_refused_before_any_request(tmp_path: Path, key: str) -> None:
    with Misbehaving(dub()) as server:
        run, _ = sync(server.base_url, tmp_path, env=cli_env(key))
    assert run.code == 3, run.output
    assert "DUB_API_KEY holds a character" in run.stderr
    assert "Traceback" not in run.output
    assert server.got == []
    for part in ("dub_abc", "def1234567"):
        assert part not in run.output


def test_a_malformed_source_key_is_refused_too(tmp_path: Path) -> None:
    env = cli_env(DUB_KEY, PROMOTEKIT_API_KEY="pk_live_abc def123456")
    with Misbehaving(dub()) as server:
        args = ["sync", "--from", "promotekit", "--from-base-url", server.base_url]
        args += ["--provider", "dub", "--base-url", server.base_url]
        args += ["--checkpoint", str(tmp_path / "m.checkpoint")]
        run = run_cli(args, env=env)
    assert run.code == 3, run.output
    assert "PROMOTEKIT_API_KEY holds a character" in run.stderr
    assert "def123456" not in run.output
    assert server.got == []


@pytest.mark.parametrize("option", ["--base-url", "--from-base-url"])
def test_credentials_in_a_base_url_are_refused_unechoed(tmp_path: Path, option: str) -> None:
    with Misbehaving(dub()) as server:
        secret_url = server.base_url.replace("://", "://admin:hunter2pass@")
        if option == "--base-url":
            run, _ = sync(secret_url, tmp_path)
        else:
            args = ["sync", "--from", "promotekit", "--from-base-url", secret_url]
            args += ["--provider", "dub", "--base-url", server.base_url]
            args += ["--checkpoint", str(tmp_path / "m.checkpoint")]
            run = run_cli(args, env=cli_env(DUB_KEY, PROMOTEKIT_API_KEY="pk_live_source_0123456"))
    assert run.code == 3, run.output
    assert f"{option} holds credentials" in run.stderr
    assert b"hunter2pass" not in everything_written(run, tmp_path)
    assert b"admin" not in everything_written(run, tmp_path)
    assert server.got == []


# --- an unreachable provider ---------------------------------------------------------------


def test_a_refused_connection_stops_within_seconds_naming_the_url(tmp_path: Path) -> None:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        run, seconds = sync(url, tmp_path, process=True)  # exit 5 as the real process ends
    assert run.code == 5, run.output
    assert f"could not reach dub at {url}/partners/count" in run.stderr
    assert "connection refused" in run.stderr
    # About 1.5 s of retries plus the start-up; before, 2 min 15 s of retries and exit 1.
    assert seconds < 60, seconds


def test_a_provider_that_vanishes_mid_run_stops_after_the_outage_limit(tmp_path: Path) -> None:
    server: Misbehaving

    def create(got: Got) -> Answer:
        # The provider goes away for good while the first create is in flight.
        threading.Thread(target=server.stop).start()
        return Answer(drop=True)

    server = Misbehaving(dub(create=create))
    with server:
        run, seconds = sync(server.base_url, tmp_path, "--unreachable-after", "1", rows=3)
    assert run.code == 5, run.output
    assert f"could not reach dub at {server.base_url}/partners" in run.stderr
    assert "no answer for" in run.stderr
    assert seconds < 90, seconds
    # Creates already in flight on other workers when it went may have arrived too; none of
    # the rows whose outcome became unknown was sent again.
    posted = [got.body["email"] for got in server.requests("POST")]
    assert 1 <= len(posted) <= 3 and len(set(posted)) == len(posted), posted


# --- Retry-After ---------------------------------------------------------------------------


def _retry_after(style: str, now: float) -> tuple[str, float]:
    """A Retry-After value in `style` and the time it names."""
    if style == "seconds":
        return "2", now + 2
    if style == "http-date":
        named = int(now) + 3
        return formatdate(named, usegmt=True), named
    if style == "epoch-seconds":
        named = int(now) + 3
        return str(named), named
    named = now + 1.5
    return str(int(named * 1000)), int(named * 1000) / 1000


@pytest.mark.parametrize("style", ["seconds", "http-date", "epoch-seconds", "epoch-ms"])
def test_retry_after_is_honoured_in_full(tmp_path: Path, style: str) -> None:
    named: list[float] = []

    def create(got: Got) -> Answer:
        if not named:
            value, until = _retry_after(style, time.time())
            named.append(until)
            return Answer(429, {"error": {"code": "rate_limit_exceeded"}}, {"Retry-After": value})
        return Answer(201, {"id": "pn_1", "email": got.body["email"]})

    with Misbehaving(dub(create=create)) as server:
        run, _ = sync(server.base_url, tmp_path)
    assert run.code == 0, run.output
    posts = server.requests("POST")
    assert len(posts) == 2
    # No request of any kind to the account before the named time.
    after_429 = [g for g in server.got if g.at > posts[0].at]
    assert min(g.at for g in after_429) >= named[0] - 0.01


@pytest.mark.parametrize("value", ["-5", "soon", "NaN"])
def test_an_unusable_retry_after_falls_back_to_backoff(tmp_path: Path, value: str) -> None:
    answers = iter(
        [Answer(429, {"error": {"code": "rate_limit_exceeded"}}, {"Retry-After": value})]
    )

    def create(got: Got) -> Answer:
        return next(answers, Answer(201, {"id": "pn_1", "email": got.body["email"]}))

    with Misbehaving(dub(create=create)) as server:
        run, seconds = sync(server.base_url, tmp_path)
    assert run.code == 0, run.output
    assert len(server.requests("POST")) == 2
    assert seconds < 90


def test_a_wait_longer_than_max_wait_stops_resumably_naming_the_time(tmp_path: Path) -> None:
    limited = [True]

    def create(got: Got) -> Answer:
        if limited[0]:
            return Answer(429, {"error": {"code": "rate_limit_exceeded"}}, {"Retry-After": "3600"})
        return Answer(201, {"id": "pn_1", "email": got.body["email"]})

    with Misbehaving(dub(create=create)) as server:
        asked = time.time()
        run, seconds = sync(server.base_url, tmp_path, "--max-wait", "60")
        assert run.code == 130, run.output
        assert seconds < 60, seconds
        # An hour after the 429, which came while the run ran (a minute may have turned).
        until = {time.strftime("%H:%M", time.gmtime(at + 3600)) for at in (asked, time.time())}
        assert any(f"dub asked to wait until {hhmm}" in run.stderr for hhmm in until), run.stderr
        assert "longer than --max-wait 60 s" in run.stderr
        assert len(server.requests("POST")) == 1
        # Later (the provider allows it again), the same command finishes the job.
        limited[0] = False
        again, _ = sync(server.base_url, tmp_path, "--max-wait", "60")
    assert again.code == 0, again.output
    assert len(server.requests("POST")) == 2
    assert report(tmp_path)[0]["status"] == "created"


# --- answers that never end, or never stop growing -----------------------------------------


def test_timeout_bounds_a_body_that_trickles(tmp_path: Path) -> None:
    trickled = []

    def page(got: Got) -> Answer:
        if not trickled:
            trickled.append(got)
            return Answer(body=b"[" + b" " * 60 + b"]", trickle=0.1)  # 6 s of body
        return Answer(body=[])

    with Misbehaving(dub(page=page)) as server:
        run, seconds = sync(server.base_url, tmp_path, "--timeout", "1", rows=2)
    assert run.code == 0, run.output
    assert "did not arrive whole in 1 s" in run.stderr
    assert seconds < 60, seconds  # before: it never ended


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
def test_a_huge_answer_is_refused_unread(tmp_path: Path, announced: bool) -> None:
    flooded = []

    def page(got: Got) -> Answer:
        if not flooded:
            flooded.append(got)
            length = 1_500_000_000 if announced else -1
            return Answer(body=b"[", endless=True, content_length=length)
        return Answer(body=[])

    with Misbehaving(dub(page=page)) as server:
        run, seconds = sync(server.base_url, tmp_path, rows=2, process=True)
    assert run.code == 0, run.output
    assert ("announces 1,500,000,000 bytes" if announced else "larger than the") in run.stderr
    assert seconds < 90, seconds
    assert run.peak_kib is not None and run.peak_kib < 600 * 1024, f"{run.peak_kib} KiB"


def _partners(start: int) -> list[dict[str, str]]:
    return [{"id": f"pn_{n}", "email": f"p{n}@example.com"} for n in range(start, start + 100)]


def test_a_listing_longer_than_its_count_stops_naming_the_provider(tmp_path: Path) -> None:
    def page(got: Got) -> Answer:
        return Answer(body=_partners(int(got.query["page"]) * 100))  # always full, always new

    with Misbehaving(dub(count=3, page=page)) as server:
        run, _ = sync(server.base_url, tmp_path, rows=2)
    assert run.code == 1, run.output
    assert "dub: the listing does not end" in run.stderr
    assert "3 partners fill 1 page(s)" in run.stderr
    assert len(server.requests("GET", "/partners")) < 30
    assert server.requests("POST") == []


def test_a_listing_that_repeats_its_pages_stops(tmp_path: Path) -> None:
    # 150 partners: two pages, cheaper than three lookups, so the listing is read.
    with Misbehaving(dub(count=150, page=lambda got: Answer(body=_partners(0)))) as server:
        run, _ = sync(server.base_url, tmp_path, rows=3)
    assert run.code == 1, run.output
    assert "dub: the listing does not end" in run.stderr
    assert "show only partners already read" in run.stderr
    assert server.requests("POST") == []


def test_a_partnero_next_link_pointing_to_itself_stops(tmp_path: Path) -> None:
    def handle(got: Got) -> Answer:
        if got.path == "/v1/partners" and got.method == "GET":
            records = [{"id": f"crm-{n}", "email": f"p{n}@example.com"} for n in range(100)]
            itself = f"http://127.0.0.1/v1/partners?page={got.query.get('page', '1')}"
            return Answer(body={"data": records, "links": {"next": itself}, "status": 1})
        return Answer(404, {"message": "Not found"})

    roster = tmp_path / "roster.csv"
    write_roster(roster, 2)
    with Misbehaving(handle) as server:
        args = ["sync", str(roster), "--provider", "partnero", "--base-url", server.base_url]
        args += ["--checkpoint", str(tmp_path / "run.checkpoint"), "--rate-limit", "6000"]
        run = run_cli(args, env=cli_env(provider="partnero"))
    assert run.code == 1, run.output
    assert "partnero: the listing does not end" in run.stderr
    assert server.requests("POST") == []


# --- a create accepted without a partner ---------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b"null", b"<html>created</html>", b"{}"], ids=["empty", "null", "html", "{}"]
)
def test_a_create_accepted_without_a_partner_is_never_sent_again(
    tmp_path: Path, body: bytes
) -> None:
    found: list[dict[str, str]] = []

    def lookup(got: Got) -> Answer:
        return Answer(body=found)

    with Misbehaving(dub(lookup=lookup, create=lambda got: Answer(201, body))) as server:
        first, _ = sync(server.base_url, tmp_path)
        assert first.code == 1, first.output
        row = report(tmp_path)[0]
        assert row["status"] == "failed"
        assert "accepted the create" in row["message"]
        assert "not sent again" in row["message"]
        assert len(server.requests("POST")) == 1
        # The next run only looks the partner up...
        lookups = len(server.requests("GET", "/partners"))
        second, _ = sync(server.base_url, tmp_path)
        assert second.code == 1, second.output
        assert len(server.requests("POST")) == 1
        assert len(server.requests("GET", "/partners")) > lookups
        # ...and once the provider shows it, the row is created, still without a second POST.
        found.append({"id": "pn_late", "email": row["email"]})
        third, _ = sync(server.base_url, tmp_path)
    assert third.code == 0, third.output
    # The first run's create made it: `exists`, created by that run, not by this one.
    line = report(tmp_path)[0]
    assert (line["status"], line["remote_id"]) == ("exists", "pn_late")
    assert line["message"].startswith("created by an earlier run at "), line
    assert "created 0 this run (1 by earlier runs)" in third.stdout
    assert len(server.requests("POST")) == 1
