"""Every output is true: a run's summary agrees with its report and with the sandbox's own
record of what it was sent and what it holds, for a first run, a rerun, a nightly job over a
grown roster, a run stopped by SIGTERM and the run that resumes it."""

from __future__ import annotations

import re
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.waiting import wait_until

from sync.sandbox import Faults, Sandbox

from .conftest import (
    Case,
    cli_env,
    read_report,
    run_cli,
    settled_commits,
    start_cli,
    sync_args,
    write_roster,
)

CONCURRENCY = 2
EARLIER = re.compile(r"created by an earlier run at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass(frozen=True)
class Seen:
    """The sandbox's counters at one moment."""

    requests: int
    posts: int
    committed: int

    @classmethod
    def of(cls, sandbox: Sandbox) -> Seen:
        stats = sandbox.stats
        posts = sum(n for (method, _), n in stats.requests.items() if method == "POST")
        return cls(stats.total, posts, stats.creates_committed)

    def since(self, before: Seen) -> Seen:
        return Seen(
            self.requests - before.requests,
            self.posts - before.posts,
            self.committed - before.committed,
        )


@dataclass(frozen=True)
class Summary:
    """What the summary printed: rows, counts per status, the earlier runs' creates, calls."""

    rows: int
    counts: Counter[str]
    created_this_run: int | None
    created_earlier: int
    calls: int
    calls_by_kind: Counter[str]
    nothing_sent: bool

    @classmethod
    def parse(cls, stdout: str) -> Summary:
        head = re.search(r"^sync: (\d+) rows into \w+ in [\d.]+s: (.*)$", stdout, re.MULTILINE)
        assert head, stdout
        counts_text, _, earlier_text = head.group(2).partition("; ")
        counts = Counter({k: int(v) for k, v in re.findall(r"(\w+) (\d+)", counts_text)})
        earlier = re.fullmatch(r"created (\d+) this run \((\d+) by earlier runs\)", earlier_text)
        assert earlier or not earlier_text, earlier_text
        calls = re.search(r"^  API calls: (\d+)(?: \((.*)\))?$", stdout, re.MULTILINE)
        assert calls, stdout
        kinds = re.findall(r"(\w+) (\d+)", calls.group(2) or "")
        return cls(
            rows=int(head.group(1)),
            counts=counts,
            created_this_run=int(earlier.group(1)) if earlier else None,
            created_earlier=int(earlier.group(2)) if earlier else 0,
            calls=int(calls.group(1)),
            calls_by_kind=Counter({kind: int(n) for kind, n in kinds}),
            nothing_sent="  nothing was sent to " in stdout,
        )


def seed_of(case: Case, n: int) -> dict[str, Any]:
    """Partner `n` of `write_roster`, as the provider holds it."""
    email = f"partner{n:06d}@example.com"
    tenant = {"dub": {"tenantId": f"crm-{n}"}, "partnero": {"id": f"crm-{n}"}}
    name = {"first_name": f"First{n}"} if case.name == "promotekit" else {"name": f"First{n}"}
    return {"email": email, **name, **tenant.get(case.name, {})}


def check_run(
    stdout: str, report: Path, sandbox: Sandbox, did: Seen, *, stopped: bool = False
) -> Summary:
    """The summary against the report and the sandbox; returns the summary."""
    summary = Summary.parse(stdout)
    lines = read_report(report)
    statuses = Counter(line["status"] for line in lines)
    # The counts are the report's, and add up to its rows.
    assert summary.counts == statuses, (summary, statuses)
    assert summary.rows == len(lines) == sum(summary.counts.values())
    # The earlier runs' creates are `exists` rows that say so, with when.
    earlier = [line for line in lines if line["message"].startswith("created by an earlier run")]
    assert all(EARLIER.fullmatch(line["message"]) for line in earlier), earlier
    assert all(line["status"] == "exists" for line in earlier)
    assert summary.created_earlier == len(earlier)
    if summary.created_this_run is not None:
        assert summary.created_this_run == summary.counts["created"]
    # Each partner the report names is the sandbox's partner of that email.
    held = {partner["email"]: partner["id"] for partner in sandbox.partners()}
    for line in lines:
        if line["status"] in ("created", "exists"):
            assert held[line["email"]] == line["remote_id"], line
    # This run's creates are the creates the sandbox committed for it; its calls are the
    # requests the sandbox received. A run stopped by a signal may have counted requests still
    # on their way (and not seen the answer of a create that landed): at most one per worker.
    created, creates = summary.counts["created"], summary.calls_by_kind["create"]
    assert summary.calls == sum(summary.calls_by_kind.values())
    assert summary.nothing_sent == (creates == 0)
    if stopped:
        assert created <= did.committed <= created + CONCURRENCY, (summary, did)
        assert did.requests <= summary.calls <= did.requests + CONCURRENCY, (summary, did)
        assert did.posts <= creates <= did.posts + CONCURRENCY, (summary, did)
    else:
        assert did.committed == created, (summary, did)
        assert did.requests == summary.calls and did.posts == creates, (summary, did)
    return summary


def test_every_summary_agrees_with_its_report_and_the_provider(case, make_sandbox, tmp_path: Path):
    seeded = [seed_of(case, n) for n in range(5)]
    sandbox = make_sandbox(case.name, seed=seeded, faults=Faults(latency=0.05))
    roster = tmp_path / "roster.csv"
    env = cli_env(provider=case.name)
    extra = ("--concurrency", str(CONCURRENCY))
    args = sync_args(sandbox, tmp_path, roster, *extra, rate_limit="60000")
    report = tmp_path / "report.csv"

    # The first run: 5 partners are there, 25 are created.
    write_roster(roster, 30)
    before = Seen.of(sandbox)
    first = run_cli(args, env=env)
    assert first.code == 0, first.output
    summary = check_run(first.stdout, report, sandbox, Seen.of(sandbox).since(before))
    assert summary.counts == Counter(created=25, exists=5) and summary.created_this_run is None

    # The rerun of the finished job: nothing sent, every creation credited to the first run.
    before = Seen.of(sandbox)
    rerun = run_cli(args, env=env)
    assert rerun.code == 0, rerun.output
    summary = check_run(rerun.stdout, report, sandbox, Seen.of(sandbox).since(before))
    assert summary.counts == Counter(exists=30) and summary.nothing_sent
    assert (summary.created_this_run, summary.created_earlier) == (0, 25)
    assert "existing partners: an earlier run's " in rerun.stdout  # this run did not look

    # The next night's roster has 40 more rows; its run is stopped by SIGTERM mid-way, while
    # the provider is slow (4 creates/s: 30 creates, 7 s, are still to come when it lands).
    write_roster(roster, 70)
    sandbox.set_faults(Faults(latency=0.5))
    before = Seen.of(sandbox)
    process = start_cli(args, env=env)
    wait_until(
        lambda: sandbox.stats.creates_committed >= before.committed + 10,
        "10 creates",
        process=process,
    )
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    settled_commits(sandbox)  # a create it sent as it stopped counts for it, not the next run
    sandbox.set_faults(Faults(latency=0.05))
    summary = check_run(stdout, report, sandbox, Seen.of(sandbox).since(before), stopped=True)
    stopped_created, pending = summary.counts["created"], summary.counts["pending"]
    assert summary.counts["exists"] == 30 and stopped_created + pending == 40
    assert 0 < stopped_created < 40 and "stopped early" in stdout

    # The resumed run creates the rest: the stopped run's creates (also one whose answer it
    # never read) are credited to it, and this run's are exactly what the sandbox committed.
    before = Seen.of(sandbox)
    resumed = run_cli(args, env=env)
    assert resumed.code == 0, resumed.output
    did = Seen.of(sandbox).since(before)
    summary = check_run(resumed.stdout, report, sandbox, did)
    assert summary.created_earlier == 40 - did.committed >= stopped_created
    assert summary.counts == Counter(created=did.committed, exists=70 - did.committed)
    assert "resumed from checkpoint" in resumed.stdout

    # The provider holds each partner once: the seeded 5 and the 65 this job made.
    emails = Counter(partner["email"] for partner in sandbox.partners())
    assert len(emails) == 70 and max(emails.values()) == 1
