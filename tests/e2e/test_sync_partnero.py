"""Partnero end to end: the probed email lookup, 422s for taken keys, passwords, invitations."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from sync.checkpoint import Checkpoint, decisions
from sync.checkpoint_binding import Binding
from sync.models import Action, Candidate, PlanEntry, Strategy
from sync.providers.partnero import Partnero
from sync.sandbox import Faults, load_seed
from sync.settings import Settings
from sync.sources.account import connect, probe
from sync.worker import Job, Worker

from .conftest import (
    CASES,
    PARTNERO_KEY,
    SAMPLES,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    statuses,
    sync_args,
    write_roster,
)

ENV = cli_env(provider="partnero")
OLD_PARTNERS = [
    {"email": f"old{n}@example.com", "name": f"Old {n}", "id": f"old-{n}"} for n in range(450)
]


@pytest.mark.parametrize("email_lookup", [True, False], ids=["email-route", "no-email-route"])
def test_the_probe_decides_between_lookups_and_a_scan(make_sandbox, tmp_path: Path, email_lookup):
    sandbox = make_sandbox("partnero", seed=OLD_PARTNERS, email_lookup=email_lookup)
    roster = tmp_path / "in.csv"
    write_roster(roster, 3)
    result = run_cli(sync_args(sandbox, tmp_path, roster, "--concurrency", "4"), env=ENV)
    assert result.code == 0, result.output
    assert set(statuses(tmp_path / "report.csv").values()) == {"created"}
    calls = sandbox.stats.requests
    assert calls[("POST", "/v1/partners")] == 3
    if email_lookup:
        # Probe: the first partner listed, found by its email, and 404 for a made-up address.
        # Choice: list page 3 (3 rows need 3 lookups) is full, so lookups are cheaper.
        # Lookups: by email, then by own id since no email matched.
        assert "lookup" in result.stdout
        assert calls[("GET", "/v1/partners")] == 2
        assert calls[("GET", "/v1/partner")] == 2 + 3
        assert calls[("GET", "/v1/partners/{id}")] == 3
    else:
        # Probe: the route answers 404 for a partner that exists, so it is not there. Without
        # a by-email lookup, existence needs all 5 pages: the scan reads them, at most
        # concurrency - 1 pages past the end.
        assert "scan" in result.stdout
        assert calls[("GET", "<unknown>")] == 1
        assert calls[("GET", "/v1/partner")] == 0
        assert calls[("GET", "/v1/partners/{id}")] == 0
        listing = calls[("GET", "/v1/partners")] - 1  # less the probe's
        assert 5 <= listing <= 5 + 3


def test_unknown_outcomes_without_email_lookup_or_ids_are_settled_by_the_resend(
    make_sandbox, tmp_path: Path
):
    # No way to look these rows up: each create that committed but answered 500 is sent again,
    # and Partnero's 422 for the taken email is the proof that it landed.
    sandbox = make_sandbox("partnero", email_lookup=False, faults=Faults(error_after=0.3, seed=11))
    roster = tmp_path / "in.csv"
    emails = write_roster(roster, 30, tenant_ids=False)
    result = run_cli(sync_args(sandbox, tmp_path, roster), env=ENV)
    assert result.code == 0, result.output
    report = read_report(tmp_path / "report.csv")
    assert {line["status"] for line in report} == {"created"}
    landed = [line for line in report if "earlier attempt landed" in line["message"]]
    assert len(landed) == sandbox.stats.faults["error_after"] > 0
    counts = email_counts(sandbox)
    assert [email for email in emails if counts[email] != 1] == []
    assert sandbox.stats.creates_committed == 30
    assert sandbox.stats.requests[("POST", "/v1/partners")] == 30 + len(landed)


def _candidate(row: int, email: str, own_id: str | None = None) -> Candidate:
    payload = {"email": email, **({"id": own_id} if own_id else {})}
    return Candidate(row=row, payload=payload, email=email, tenant_id=own_id)


@pytest.mark.parametrize("email_lookup", [True, False], ids=["email-route", "no-email-route"])
def test_a_taken_email_or_id_found_on_creating_becomes_exists_or_conflict(
    make_sandbox, tmp_path: Path, email_lookup
):
    """Partners that appear between the plan and the create: each 422 is settled by a lookup,
    with or without the by-email route, and the same way as the plan would have."""
    sandbox = make_sandbox("partnero", email_lookup=email_lookup, seed=[{"email": "x@ex.com"}])
    jobs = [
        Job(_candidate(1, "same@ex.com", "crm-1"), unsure=False),
        Job(_candidate(2, "other-id@ex.com", "crm-2"), unsure=False),
        Job(_candidate(3, "no-id@ex.com"), unsure=False),
        Job(_candidate(4, "new@ex.com", "crm-4"), unsure=False),
        Job(_candidate(5, "moved@ex.com", "crm-5"), unsure=False),
        # An attempt of an earlier run may have landed (the row was left `sending`).
        Job(_candidate(6, "landed@ex.com"), unsure=True),
    ]
    x_id = sandbox.partners()[0]["id"]
    for fields in (
        {"email": "same@ex.com", "id": "crm-1"},
        {"email": "other-id@ex.com", "id": "legacy-2"},
        {"email": "no-id@ex.com"},
        {"email": "elsewhere@ex.com", "id": "crm-5"},
        {"email": "landed@ex.com"},
    ):
        sandbox.add_partner(fields)
    journal = _execute(sandbox, tmp_path, jobs)
    assert {row: state for row, (state, *_rest) in journal.items()} == {
        1: "exists",
        2: "conflict",
        3: "exists",
        4: "created",
        5: "exists",  # matched by id, as the plan matches (the remote email differs)
        6: "created",
    }
    assert journal[2][3] == "email"  # the field of the conflict
    assert journal[5][1] == "crm-5" and "elsewhere@ex.com" in journal[5][2]
    assert "earlier attempt landed" in journal[6][2]
    assert x_id not in {remote_id for _, remote_id, *_ in journal.values()}
    assert sandbox.stats.creates_committed == 1 and len(email_counts(sandbox)) == 7


def _execute(sandbox, tmp_path: Path, jobs: list[Job]):
    """Run the worker for `jobs` against the sandbox, as `sync` does after its plan."""
    settings = Settings(
        input=tmp_path / "in.csv",
        provider=Partnero(),
        base_url=sandbox.base_url,
        api_key=SecretStr(PARTNERO_KEY),
        rate_limit=6000,
        concurrency=2,
    )
    binding = Binding("input", "mapping", "partnero", sandbox.base_url, settings.account)
    entries = [
        PlanEntry(row=job.candidate.row, action=Action.CREATE, candidate=job.candidate)
        for job in jobs
    ]

    async def run() -> None:
        http = connect(settings)
        try:
            await probe(settings, http)
            worker = Worker(
                settings.provider,
                http,
                checkpoint,
                settings.retry,
                concurrency=2,
                tenant_label="id",
            )
            await worker.run(jobs)
        finally:
            await http.aclose()

    with Checkpoint.open(tmp_path / "run.checkpoint") as checkpoint:
        checkpoint.save_plan(binding, decisions(entries), Strategy("scan", "test", 0))
        asyncio.run(run())
        return checkpoint.journal()


def test_a_taken_referral_key_is_a_conflict_named_in_the_report(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox("partnero", seed=[{"email": "owner@example.com", "key": "taken-key"}])
    roster = tmp_path / "in.csv"
    write_roster(roster, 3, username="taken-key")
    result = run_cli(sync_args(sandbox, tmp_path, roster), env=ENV)
    assert result.code == 1
    report = read_report(tmp_path / "report.csv")
    assert {line["status"] for line in report} == {"conflict"}
    assert all(line["field"] == "key" and "taken" in line["message"] for line in report)
    assert sandbox.stats.creates_committed == 0


def test_passwords_are_checked_before_sending_and_never_written(make_sandbox, tmp_path: Path):
    sandbox = make_sandbox("partnero")
    good, weak = "Corr3ct-Horse-Battery", "weakpassword"
    roster = tmp_path / "in.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "password"])
        writer.writerow(["ann@example.com", "Ann", good])
        writer.writerow(["bob@example.com", "Bob", weak])
        writer.writerow(["cy@example.com", "Cy", ""])  # none given: none invented
    args = sync_args(sandbox, tmp_path, roster, "--verbose", "--json-logs")
    result = run_cli(args, env=ENV)
    assert result.code == 1, result.output
    rows = {int(line["row"]): line for line in read_report(tmp_path / "report.csv")}
    assert rows[1]["status"] == "created" and rows[3]["status"] == "created"
    assert rows[2]["status"] == "invalid" and rows[2]["field"] == "password"
    assert "uppercase letter" in rows[2]["message"] and "digit" in rows[2]["message"]
    assert sandbox.stats.creates_committed == 2  # the weak one never left
    again = run_cli([*args, "--restart"], env=ENV)
    written = [result.stdout, result.stderr, again.stdout, again.stderr]
    written += [
        path.read_bytes().decode("utf-8", "replace")
        for path in tmp_path.iterdir()
        if path != roster
    ]
    assert not [text for text in written if good in text or weak in text]
    for line in result.stderr.splitlines():
        json.loads(line)  # JSON log lines, none of them with a password


def test_invite_mode_invites_the_missing_partners(make_sandbox, tmp_path: Path):
    case = CASES["partnero"]
    sandbox = make_sandbox("partnero", seed=load_seed(case.seed))
    args = sync_args(sandbox, tmp_path, SAMPLES / "roster.csv", "--invite")
    result = run_cli(args, env=ENV)
    assert result.code == 1, result.output  # the sample's invalid rows
    # Invitations carry no id: rows match by email alone, so the sample's two id conflicts
    # (18, 19) are partners that exist.
    expected = {
        row: {"created": "invited", "conflict": "exists"}.get(status, status)
        for row, status in case.expected.items()
    }
    assert statuses(tmp_path / "report.csv") == expected
    invited = case.count("created")
    assert f"invited {invited}" in result.stdout
    calls = sandbox.stats.requests
    assert calls[("POST", "/v1/partners:invite")] == invited
    assert calls[("POST", "/v1/partners")] == 0
    pending = [p for p in sandbox.partners() if p["status"] == "pending"]
    assert len(pending) == invited and max(email_counts(sandbox).values()) == 1
    assert "not sent" in result.stderr  # id, key and tags are not part of an invitation

    status = run_cli(["status", "--checkpoint", str(tmp_path / "run.checkpoint")], env=ENV)
    assert "(invitations)" in status.stdout and f"invited    {invited}" in status.stdout
    # The checkpoint belongs to an invitation job: creating from it is refused.
    create = run_cli(args[:-1], env=ENV)
    assert create.code == 3 and "create/invite mode" in create.stderr
    # A provider without invitations refuses the flag before anything happens.
    dub = run_cli(["sync", str(SAMPLES / "roster.csv"), "-p", "dub", "--invite"])
    assert dub.code == 2 and "cannot invite" in dub.stderr


def test_a_lower_limit_announced_by_partnero_is_adopted_before_any_429(make_sandbox, tmp_path):
    # Laravel's throttle sends X-RateLimit-Limit on every answer: the guessed 120/min yields.
    sandbox = make_sandbox("partnero", rate_limit=60, seed=[{"email": "a@example.com"}])
    settings = Settings(
        input=tmp_path / "in.csv",
        provider=Partnero(),
        base_url=sandbox.base_url,
        api_key=SecretStr(PARTNERO_KEY),
        rate_limit=120,
    )

    async def run() -> float:
        http = connect(settings)
        try:
            await settings.provider.list_page(http, 1)
            return http.limiter.per_minute
        finally:
            await http.aclose()

    assert asyncio.run(run()) == 60
    assert sandbox.stats.rate_limited == 0
