"""Goal 3, against what a user would otherwise write: the official Dub SDK, page by page, then
one create at a time, both against the same sandbox (20 requests/s, 150 ms ± 50), in one run.

The script is what the SDK's documentation leads to: list every partner (100 a page; sorted by
creation date, which a careful user picks because the default order is unstable), then create
each roster row whose email is not among them, one after the other. It needs no rate limiting
of its own: one request at a time at 150 ms never reaches 20 a second.

Cases: the nightly one (a file of new partners, many existing ones), where the SDK script lists
everything and the tool looks the rows up; and a migration (nothing exists), where both make the
same calls and only pace differs: there the ratio cannot exceed rate times latency (20/s * 0.15 s =
3, plus what the SDK's own parsing costs).
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.harness import KEY, run_cli, sync_args
from sync.sandbox import Faults, Sandbox

PER_MINUTE = 1200
LATENCY = Faults(latency=0.15, jitter=0.05)


def sdk_sync(base_url: str, roster: Path) -> dict[str, int]:
    """The typical script: everything listed page by page, then the missing ones created."""
    import dub

    known: set[str] = set()
    pages = created = 0
    with dub.Dub(token=KEY, server_url=base_url) as client:
        page = 1
        while True:
            partners = client.partners.list(
                request={
                    "page": page,
                    "page_size": 100,
                    "sort_by": "createdAt",
                    "sort_order": "asc",
                }
            )
            pages += 1
            known.update(partner.email.lower() for partner in partners)
            if len(partners) < 100:
                break
            page += 1
        with roster.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["email"].strip().lower() in known:
                    continue
                client.partners.create(
                    request={
                        "email": row["email"].strip(),
                        "name": f"{row['first_name']} {row['last_name']}".strip(),
                        "tenant_id": row["tenant_id"],
                        "username": row["username"],
                        "country": row["country"].strip().upper(),
                    }
                )
                created += 1
    return {"pages": pages, "creates": created}


def _case(name: str, existing: int, new: int, workdir: Path) -> dict[str, Any]:
    seed = data.seed_records(data.partners(0, existing)) if existing else None
    roster = data.write_csv(data.roster(new, first=existing), workdir / f"{name}.csv")
    timings: dict[str, Any] = {"case": name, "existing": existing, "new": new}
    # Two sandboxes seeded alike, one per contender, so each starts from the same state.
    with Sandbox("dub", seed=seed, rate_limit=PER_MINUTE, faults=LATENCY) as sandbox:
        started = time.perf_counter()
        calls = sdk_sync(sandbox.base_url, roster)
        timings["sdk_seconds"] = time.perf_counter() - started
        timings["sdk_calls"] = calls
        timings["sdk_429s"] = sandbox.stats.rate_limited
    with Sandbox("dub", seed=seed, rate_limit=PER_MINUTE, faults=LATENCY) as sandbox:
        run = run_cli(sync_args(sandbox, roster, workdir, "--rate-limit", str(PER_MINUTE)))
        timings["tool_seconds"] = run.seconds
        timings["tool_calls"] = run.calls
        timings["tool_429s"] = sandbox.stats.rate_limited
        timings["tool_created"] = sandbox.stats.creates_committed
    timings["ratio"] = timings["sdk_seconds"] / timings["tool_seconds"]
    return timings


def run(existing: int, new: int, migration: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        cases = [_case("nightly", existing, new, workdir)]
        if migration:
            cases.append(_case("migration", 0, migration, workdir))
    return {"cases": cases}


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        "Goal 3: the official Dub SDK, sequential, vs partner-sync (20 requests/s, 150 ms ± 50;"
        " goal >= 10x)"
    ]
    for case in results["cases"]:
        sdk = case["sdk_calls"]
        tool = ", ".join(f"{kind} {n}" for kind, n in sorted(case["tool_calls"].items()))
        verdict = ""
        if case["case"] == "nightly":
            verdict = " (met)" if case["ratio"] >= 10 else " (MISSED)"
        lines.append(
            f"  {case['case']:<10} {case['new']:>5} new, {case['existing']:>7,} existing:"
            f" SDK {case['sdk_seconds']:.1f}s ({sdk['pages']} pages + {sdk['creates']} creates),"
            f" partner-sync {case['tool_seconds']:.1f}s ({tool}) -> {case['ratio']:.1f}x{verdict}"
        )
    return lines
