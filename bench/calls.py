"""Goal 2, API calls: calls made ÷ the fewest calls the job needs, in three cases.

The fewest: one create per missing partner, plus the cheaper way of learning what exists,
either every list page (existing ÷ 100, plus the short page that ends the listing) or the
lookups (one per row by email, and one more by tenantId for a row whose email is not found
and that has one: Dub has no "email OR tenantId" filter, and without the second call a row
whose tenantId belongs to a partner under another email would be created, or passed off as new).

The sandbox runs with no latency and no rate limit, and the tool with a budget it never
reaches, so that only the count of calls matters. The sandbox's own count is the one reported.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from bench import data
from bench.harness import routes, run_cli, sync_args
from sync.sandbox import Sandbox

PAGE = 100
FAST = ["--rate-limit", "1000000", "--concurrency", "32"]


def _scan_pages(existing: int) -> int:
    return existing // PAGE + 1


def _case(
    name: str,
    *,
    existing: int,
    roster_rows: pl.DataFrame,
    new: int,
    workdir: Path,
) -> dict[str, Any]:
    seed = data.seed_records(data.partners(0, existing)) if existing else None
    started = time.perf_counter()
    sandbox = Sandbox("dub", seed=seed, rate_limit=0)
    seed_seconds = time.perf_counter() - started
    roster = data.write_csv(roster_rows, workdir / f"{name}.csv")
    rows = roster_rows.height
    # Rows found by email need one lookup; new rows (all have a tenantId) need two.
    lookups = (rows - new) + 2 * new
    minimum = new + min(_scan_pages(existing), lookups)
    with sandbox:
        run = run_cli(sync_args(sandbox, roster, workdir, *FAST))
        served = sum(sandbox.stats.requests.values())
        created = sandbox.stats.creates_committed
        by_route = routes(sandbox)
    return {
        "case": name,
        "rows": rows,
        "existing": existing,
        "new": new,
        "created": created,
        "calls": served,
        "tool_calls": run.calls,
        "routes": by_route,
        "minimum": minimum,
        "minimum_if_one_lookup_per_row": new + min(_scan_pages(existing), rows),
        "ratio": served / minimum,
        "seconds": run.seconds,
        "seed_seconds": seed_seconds,
        "strategy": run.line("existing partners:"),
    }


def run(migration: int, existing: int, new: int) -> dict[str, Any]:
    """The migration, the nightly delta file, and the nightly full roster."""
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        fresh = data.roster(new, first=existing)
        cases = [
            _case(
                "migration",
                existing=0,
                roster_rows=data.roster(migration),
                new=migration,
                workdir=workdir,
            ),
            _case("nightly-delta", existing=existing, roster_rows=fresh, new=new, workdir=workdir),
            _case(
                "nightly-full-roster",
                existing=existing,
                roster_rows=pl.concat([data.roster(existing), fresh]),
                new=new,
                workdir=workdir,
            ),
        ]
    return {"cases": cases}


def report(results: dict[str, Any]) -> list[str]:
    lines = ["Goal 2: API calls ÷ the fewest the job needs (goal <= 1.01)"]
    for case in results["cases"]:
        verdict = "met" if case["ratio"] <= 1.01 else "MISSED"
        tool = ", ".join(f"{kind} {n}" for kind, n in sorted(case["tool_calls"].items()))
        lines.append(
            f"  {case['case']:<20} {case['rows']:>7,} rows, {case['existing']:>7,} existing,"
            f" {case['new']:>6,} new: {case['calls']:>6,} calls / {case['minimum']:>6,} fewest"
            f" = {case['ratio']:.4f} ({verdict}); {tool}; {case['seconds']:.1f}s"
        )
        lines.append(
            f"  {'':<20} {case['strategy']}; created {case['created']:,};"
            f" seeding {case['existing']:,} partners took {case['seed_seconds']:.1f}s;"
            f" counting one lookup per row the fewest would be"
            f" {case['minimum_if_one_lookup_per_row']:,}"
            f" (ratio {case['calls'] / case['minimum_if_one_lookup_per_row']:.3f})"
        )
    return lines
