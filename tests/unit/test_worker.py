"""The worker in-process, over httpx.MockTransport: a create whose outcome is unknown is settled
by looking the partner up and deciding what was found with the plan's own rule."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.checkpoint import Checkpoint, decisions
from sync.checkpoint_binding import Binding
from sync.models import Action, Candidate, Outcome, PlanEntry, RemotePartner, Status, Strategy
from sync.plan import decide
from sync.providers.dub import Dub
from sync.providers.http import ProviderHTTP
from sync.ratelimit import RateLimiter
from sync.retry import RetryPolicy
from sync.worker import Job, Worker, existed_before, returned_partner_problem

BINDING = Binding("hash", "identity", "dub", "http://127.0.0.1:1", "acct")
ROW = Candidate(row=1, payload={"email": "ann@x.com", "tenantId": "t-ann"}, email="ann@x.com",
                tenant_id="t-ann")  # fmt: skip


class Account:
    """A Dub account whose first create answers 502 (the outcome unknown) and whose lookups
    answer with `partners` (Dub's records), by email or by tenant id."""

    def __init__(self, partners: list[dict[str, Any]]) -> None:
        self.partners = partners
        self.creates = 0
        self.lookups: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.creates += 1
            return httpx.Response(502, json={"error": {"message": "bad gateway"}})
        params = dict(request.url.params)
        self.lookups.append(params)
        found = [
            p for p in self.partners if all(p.get(name) == value for name, value in params.items())
        ]
        return httpx.Response(200, json=found)


async def _no_wait(seconds: float) -> None:
    return None


def settle(tmp_path: Path, account: Account) -> Outcome:
    """Send ROW once through a worker whose provider is `account`; the row's outcome."""
    provider = Dub()
    http = ProviderHTTP(
        provider_name=provider.name,
        base_url="https://api.example.test",
        headers=provider.auth_headers("dub_test_key"),
        limiter=RateLimiter(1_000_000),
        error_message=provider.error_message,
        is_account_error=provider.is_account_error,
        transport=httpx.MockTransport(account),
    )
    policy = RetryPolicy(attempts=2, initial_wait=0.0)
    with Checkpoint.open(tmp_path / "run.checkpoint") as checkpoint:
        entry = PlanEntry(row=1, action=Action.CREATE, candidate=ROW)
        checkpoint.save_plan(BINDING, decisions([entry]), Strategy("lookup", "cheaper", 1))
        worker = Worker(provider, http, checkpoint, policy, concurrency=1, sleep=_no_wait)

        async def run() -> None:
            try:
                await worker.run([Job(candidate=ROW, unsure=False)])
            finally:
                await http.aclose()

        asyncio.run(run())
        (row,) = checkpoint.journal_rows()
    number, state, remote_id, message, field = row
    return Outcome(number, Status(state), remote_id, message, field)


ANN = {"id": "pn_ann", "email": "ann@x.com", "tenantId": "t-ann"}
ANN_ELSEWHERE = {"id": "pn_ann", "email": "ann@x.com", "tenantId": "t-other"}
BOB_WITH_ANNS_TENANT = {"id": "pn_bob", "email": "bob@x.com", "tenantId": "t-ann"}
ANN_NO_TENANT = {"id": "pn_ann", "email": "ann@x.com"}


def _partner(record: dict[str, Any]) -> RemotePartner:
    return Dub().partner_of(record)


@pytest.mark.parametrize(
    ("records", "by_email", "by_tenant", "status"),
    [
        pytest.param([ANN_ELSEWHERE], ANN_ELSEWHERE, None, Status.CONFLICT, id="another tenant"),
        pytest.param(
            [ANN_NO_TENANT, BOB_WITH_ANNS_TENANT],
            ANN_NO_TENANT,
            BOB_WITH_ANNS_TENANT,
            Status.CONFLICT,
            id="two partners",
        ),
    ],
)
def test_an_unknown_outcome_is_decided_by_the_plans_rule(
    tmp_path: Path,
    records: list[dict[str, Any]],
    by_email: dict[str, Any],
    by_tenant: dict[str, Any] | None,
    status: Status,
):
    account = Account(records)
    outcome = settle(tmp_path, account)
    expected = decide(
        ROW, _partner(by_email), _partner(by_tenant) if by_tenant else None, "tenantId"
    )
    assert account.creates == 1  # never resent: the lookup found a partner
    assert account.lookups and account.lookups[0] == {"email": "ann@x.com"}
    assert outcome.status is status
    assert (outcome.message, outcome.field, outcome.remote_id) == (
        expected.message,
        expected.field,
        expected.remote_id,
    )


def test_a_partner_found_after_an_unknown_outcome_is_the_one_our_create_made(tmp_path: Path):
    account = Account([ANN])
    outcome = settle(tmp_path, account)
    assert account.creates == 1
    assert outcome.status is Status.CREATED and outcome.remote_id == "pn_ann"
    found = decide(ROW, _partner(ANN), _partner(ANN))  # by its email and its tenant id
    assert outcome.message == f"an earlier attempt landed ({found.message})"
    assert "matched by tenantId" in outcome.message


def test_nobody_found_after_an_unknown_outcome_means_the_create_is_sent_again(tmp_path: Path):
    account = Account([])
    outcome = settle(tmp_path, account)
    assert account.creates == 2  # looked up (nobody) before each resend
    assert len(account.lookups) >= 2
    assert outcome.status is Status.FAILED and "the next run tries again" in outcome.message


def test_returned_partner_is_checked_against_what_was_sent():
    sent = Candidate(row=1, payload={}, email="b@x.com", tenant_id="t-a")
    assert returned_partner_problem(sent, RemotePartner("pn_a", "a@x.com", "t-a"))
    assert returned_partner_problem(sent, RemotePartner("pn_b", "B@x.com", "t-other"))
    assert returned_partner_problem(sent, RemotePartner("pn_b", "B@X.com", "t-a")) is None


def test_a_returned_partner_older_than_the_create_existed_before():
    sent_at = 1_800_000_000.0
    old = RemotePartner("pn_a", "a@x.com", created_at="2020-01-01T00:00:00.000Z")
    fresh = RemotePartner("pn_b", "b@x.com", created_at="2027-01-15T08:00:00.000Z")
    assert existed_before(old, sent_at)
    assert not existed_before(fresh, sent_at)
    assert not existed_before(RemotePartner("pn_c", "c@x.com"), sent_at)
    assert not existed_before(RemotePartner("pn_d", "d@x.com", created_at="yesterday"), sent_at)


def test_the_account_stand_in_answers_as_dub_does():
    # Lookups filter by the one parameter given, as Dub's GET /partners does.
    account = Account([ANN, BOB_WITH_ANNS_TENANT])
    request = httpx.Request("GET", "https://api.example.test/partners?tenantId=t-ann")
    assert [p["id"] for p in json.loads(account(request).content)] == ["pn_ann", "pn_bob"]
