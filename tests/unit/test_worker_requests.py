"""The worker's requests in-process over httpx.MockTransport: every create, retry and lookup it
makes, in order, with a journal in a real checkpoint, no socket and no sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from support.mock_account import BASE_URL, mock_client

from sync.checkpoint import Checkpoint, decisions
from sync.checkpoint_binding import Binding
from sync.models import Action, Candidate, PlanEntry, Strategy
from sync.providers.base import Provider
from sync.providers.dub import Dub
from sync.providers.http import ProviderHTTP
from sync.providers.promotekit import PromoteKit
from sync.retry import RetryPolicy
from sync.worker import Job, Worker

BINDING = Binding("hash", "identity", "dub", BASE_URL, "acct")
# Quick retries, and a timeout short enough for a hung answer to count as one.
POLICY = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.001)
Answer = Callable[[httpx.Request], httpx.Response]


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeDub:
    """Dub's create and lookups, answered from a list of partners; `creates` scripts the
    answers to POST /partners, one per create (the default: a 201 that stores the partner)."""

    def __init__(self, *creates: Answer) -> None:
        self.partners: list[dict[str, Any]] = []
        self.creates = list(creates)
        self.seen: list[str] = []  # "POST /partners", "GET /partners?email=..."

    def store(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        partner = {"id": f"pn_{len(self.partners) + 1}", **body, "createdAt": now()}
        self.partners.append(partner)
        return httpx.Response(201, json=partner)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = request.url.query.decode()
        self.seen.append(f"{request.method} {request.url.path}" + (f"?{query}" if query else ""))
        if request.method == "POST":
            answer = self.creates.pop(0) if self.creates else self.store
            return answer(request)
        params = dict(request.url.params)
        found = [
            p
            for p in self.partners
            if ("email" not in params or p["email"] == params["email"])
            and ("tenantId" not in params or p.get("tenantId") == params["tenantId"])
        ]
        return httpx.Response(200, json=found)


def http_for(provider: Provider, handler: Answer, *, timeout: float = 30.0) -> ProviderHTTP:
    return mock_client(provider, handler, policy=POLICY, timeout=timeout)


def candidate(email: str = "ann@example.com", tenant_id: str | None = None) -> Candidate:
    payload: dict[str, Any] = {"email": email, "name": "Ann"}
    if tenant_id:
        payload["tenantId"] = tenant_id
    return Candidate(row=1, payload=payload, email=email, tenant_id=tenant_id)


async def _no_wait(seconds: float) -> None:
    return None


def run_jobs(
    provider: Provider,
    handler: Answer,
    tmp_path: Path,
    job: Job,
    *,
    timeout: float = 30.0,
) -> tuple[str, str | None, str]:
    """One job through the worker; the row's journal entry: state, remote id, message."""
    http = http_for(provider, handler, timeout=timeout)
    with Checkpoint.open(tmp_path / "run.checkpoint") as checkpoint:
        entry = PlanEntry(row=1, action=Action.CREATE, candidate=job.candidate)
        checkpoint.save_plan(BINDING, decisions([entry]), Strategy("lookup", "cheaper", 1))
        worker = Worker(provider, http, checkpoint, POLICY, concurrency=1, sleep=_no_wait)

        async def go() -> None:
            try:
                await worker.run([job])
            finally:
                await http.aclose()

        asyncio.run(go())
        state, remote_id, message = checkpoint.journal()[1][:3]
    return state, remote_id, message


def test_a_create_answered_500_then_201_is_looked_up_then_sent_once_more(tmp_path: Path):
    dub = FakeDub(lambda request: httpx.Response(500, json={"error": {"message": "boom"}}))
    state, remote_id, _ = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=False))
    # A 500 may have landed: the partner is looked up before the one resend.
    assert dub.seen == ["POST /partners", "GET /partners?email=ann%40example.com", "POST /partners"]
    assert (state, remote_id) == ("created", "pn_1")
    assert [p["email"] for p in dub.partners] == ["ann@example.com"]


def test_a_create_that_landed_but_timed_out_is_found_by_a_lookup_not_sent_again(tmp_path: Path):
    def landed_then_hung(request: httpx.Request) -> httpx.Response:
        dub.store(request)
        raise httpx.ReadTimeout("no answer", request=request)

    dub = FakeDub(landed_then_hung)
    state, remote_id, message = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=False))
    assert dub.seen == ["POST /partners", "GET /partners?email=ann%40example.com"]
    assert (state, remote_id) == ("created", "pn_1")
    assert "an earlier attempt landed" in message
    assert len(dub.partners) == 1


def test_a_row_left_sending_by_a_stopped_run_is_looked_up_before_anything_is_sent(
    tmp_path: Path,
):
    dub = FakeDub()
    dub.partners.append({"id": "pn_9", "email": "ann@example.com", "createdAt": now()})
    state, remote_id, _ = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=True))
    assert dub.seen == ["GET /partners?email=ann%40example.com"]
    assert (state, remote_id) == ("created", "pn_9")  # that earlier attempt made it


def test_a_row_left_sending_that_never_landed_is_sent_after_the_lookup(tmp_path: Path):
    dub = FakeDub()
    state, remote_id, _ = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=True))
    assert dub.seen == ["GET /partners?email=ann%40example.com", "POST /partners"]
    assert (state, remote_id) == ("created", "pn_1")


def test_a_refused_connection_is_resent_blindly_it_never_arrived(tmp_path: Path):
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    dub = FakeDub(refused)
    state, remote_id, _ = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=False))
    assert dub.seen == ["POST /partners", "POST /partners"]  # no lookup needed
    assert (state, remote_id) == ("created", "pn_1")


def test_dub_s_409_on_a_taken_tenant_id_is_a_conflict_naming_it(tmp_path: Path):
    taken = {"error": {"code": "conflict", "message": "tenantId crm-1 is already in use"}}
    dub = FakeDub(lambda request: httpx.Response(409, json=taken))
    row = Job(candidate(tenant_id="crm-1"), unsure=False)
    state, _, message = run_jobs(Dub(), dub, tmp_path, row)
    assert state == "conflict" and "crm-1" in message
    assert dub.seen == ["POST /partners"] and dub.partners == []


def test_dub_s_upsert_returning_an_older_partner_is_exists_not_created(tmp_path: Path):
    older = {"id": "pn_7", "email": "ann@example.com", "createdAt": "2024-01-01T00:00:00Z"}
    dub = FakeDub(lambda request: httpx.Response(201, json=older))
    state, remote_id, message = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=False))
    assert (state, remote_id) == ("exists", "pn_7")
    assert "2024-01-01" in message


def test_a_create_that_fails_every_time_gives_up_failed_for_the_next_run(tmp_path: Path):
    down = [lambda request: httpx.Response(503, json={"error": "down"})] * POLICY.attempts
    dub = FakeDub(*down)
    state, _, message = run_jobs(Dub(), dub, tmp_path, Job(candidate(), unsure=False))
    assert state == "failed" and "the next run tries again" in message
    assert dub.seen.count("POST /partners") == POLICY.attempts  # each after a lookup found none
    assert dub.seen.count("GET /partners?email=ann%40example.com") == POLICY.attempts


class FakePromoteKit:
    """PromoteKit refusing a taken email with 409, and its lookup by email."""

    def __init__(self, existing: dict[str, Any]) -> None:
        self.existing = existing
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.method)
        if request.method == "POST":
            error = {"message": "email has already been taken", "type": "conflict"}
            return httpx.Response(409, json={"success": False, "error": error})
        email = request.url.params.get("email")
        data = [self.existing] if email == self.existing["email"] else []
        pagination = {"has_more": False, "total_count": len(data)}
        return httpx.Response(200, json={"success": True, "data": data, "pagination": pagination})


def test_promotekit_s_409_on_a_taken_email_is_exists_with_the_affiliate_found(tmp_path: Path):
    affiliate = {"id": "aff-1", "email": "ann@example.com", "created_at": "2024-01-01T00:00:00Z"}
    fake = FakePromoteKit(affiliate)
    # PromoteKit has no tenant id and no `name`: the row carries its email only.
    row = Job(Candidate(1, {"email": "ann@example.com"}, "ann@example.com", None), unsure=False)
    state, remote_id, _ = run_jobs(PromoteKit(), fake, tmp_path, row)
    assert (state, remote_id) == ("exists", "aff-1")
    assert fake.seen == ["POST", "GET"]  # refused, then looked up; never sent again
