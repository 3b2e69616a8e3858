"""Goal 4, local work: read → map → validate → duplicates → plan, N rows against N partners, for
each provider.

The partners that exist come from a full scan of an in-process account (bench/listing.py): the
provider's own list pages, read by the real client and parsed by the provider's own code into the
one index, as `partner-sync plan` reads an account; only the network is missing. The scan's time
is reported beside the total, not in it (against a real account it is network time, paced by the
rate budget); the peak memory includes it. Each size runs in a fresh process, so that its peak is
its own; the repetitions' medians are reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import data
from bench.stats import in_fresh_process, median, peak_rss_mb, polars_alone_seconds, spread

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("dub", "partnero", "promotekit")
GOAL_SECONDS, GOAL_MB = 1.5, 1024


def prepare(size: int, directory: Path) -> dict[str, Any]:
    """Write the roster (CSV) for one size; every provider's default mapping reads it."""
    frame, mix = data.mixed_roster(size)
    data.write_csv(frame, directory / f"roster-{size}.csv")
    return asdict(mix)


def _settings(provider_name: str, size: int, directory: Path) -> Any:
    from pydantic import SecretStr

    from sync.catalog import default_mapping
    from sync.registry import get_provider
    from sync.settings import Settings

    return Settings(
        input=directory / f"roster-{size}.csv",
        provider=get_provider(provider_name),
        base_url="https://api.example.test",  # served in-process: nothing leaves the machine
        api_key=SecretStr("unused"),
        mapping=default_mapping(provider_name),
        rate_limit=1e9,  # the budget is the network's business, not the local work's
        concurrency=16,
    )


def measure(provider_name: str, size: int, directory: Path) -> dict[str, Any]:
    """One timed run, in this process (run it in a fresh one), through the functions
    `partner-sync plan` runs, in its order: the file read and `checked_input.check_input` (map,
    validate), the split of duplicates, the scan of the account into the index (timed apart), then
    `planning.plan_rows` decides every row. After that, the rest of the command's local work:
    one outcome per row and the report file."""
    from bench import listing
    from sync.checked_input import check_input
    from sync.plan import split_duplicates
    from sync.planning import plan_rows
    from sync.sources.file import read_table

    settings = _settings(provider_name, size, directory)
    gc.collect()
    before = peak_rss_mb()
    times: dict[str, float] = {}
    cpu = time.process_time()
    clock = time.perf_counter()
    checked = check_input(settings, read_table(settings.input, hashed=False))  # as `plan` reads
    times["prepare"] = time.perf_counter() - clock
    clock = time.perf_counter()
    rows = split_duplicates(checked.valid.keys, settings.tenant_label)
    times["duplicates"] = time.perf_counter() - clock
    cpu_seconds = time.process_time() - cpu

    clock = time.perf_counter()
    existing = listing.scan(settings, size)
    scan_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    existing.columns  # noqa: B018 - builds the index (keys, first sightings), as the plan would
    index_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    cpu = time.process_time()
    plan = plan_rows(checked.valid, rows, existing, settings.tenant_label)
    times["plan"] = time.perf_counter() - clock
    cpu_seconds += time.process_time() - cpu
    times["total"] = sum(times.values())
    peak = peak_rss_mb()

    # The rest of `partner-sync plan` without the network: outcomes, counts, the report.
    clock = time.perf_counter()
    counts = _report(plan, settings, directory / f"report-{provider_name}-{size}.csv")
    report_seconds = time.perf_counter() - clock
    peak_with_report = peak_rss_mb()

    # Breakdown, after the peaks are taken: the read alone, and the machine's pace (polars alone
    # reading the same file and writing it back, as goal 5's baseline).
    clock = time.perf_counter()
    read_table(settings.input, hashed=False)
    read_alone = time.perf_counter() - clock
    copy = directory / f"copy-{provider_name}-{size}.csv"
    polars_alone = polars_alone_seconds(settings.input, copy)
    copy.unlink()
    return {
        "size": size,
        "seconds": times,
        "read_alone": read_alone,
        "polars_alone": polars_alone,
        "scan_seconds": scan_seconds,
        "index_seconds": index_seconds,
        "partners": len(existing),
        "report_seconds": report_seconds,
        "cpu_seconds": cpu_seconds,  # all threads: what the stages cost, whatever the load
        "peak_mb": peak,
        "peak_with_report_mb": peak_with_report,
        "baseline_mb": before,
        "one_by_one": checked.valid.checked_one_by_one,
        "counts": counts,
    }


def _report(plan: Any, settings: Any, path: Path) -> dict[str, int]:
    """`plan`'s outcomes, counted and written as the report file; the counts."""
    from sync.report import write_report
    from sync.run_result import plan_outcomes

    outcomes = plan_outcomes(plan, settings.mode)
    write_report(path, outcomes)
    return dict(outcomes.counts())


def _in_subprocess(provider: str, size: int, directory: Path) -> dict[str, Any]:
    return in_fresh_process("bench.local", [provider, str(size), str(directory)], cwd=ROOT)


def _summary(runs: list[dict[str, Any]], mix: dict[str, Any]) -> dict[str, Any]:
    """Medians and spreads of one size's repetitions."""
    totals = [run["seconds"]["total"] for run in runs]

    def middle(name: str) -> float:
        return median([run[name] for run in runs])

    figures = ["cpu_seconds", "read_alone", "polars_alone", "report_seconds", "peak_with_report_mb"]
    figures += ["scan_seconds", "index_seconds", "peak_mb", "baseline_mb"]
    return {
        "mix": mix,
        "stages": {
            stage: median([run["seconds"][stage] for run in runs]) for stage in runs[0]["seconds"]
        },
        "total": median(totals),
        "total_spread": spread(totals),
        "total_best": min(totals),
        **{name: middle(name) for name in figures},
        "partners": runs[0]["partners"],
        "one_by_one": runs[0]["one_by_one"],
        "counts": runs[0]["counts"],
        "repeats": len(runs),
    }


def run(
    sizes: list[int], repeats: int, directory: Path, providers: tuple[str, ...] = PROVIDERS
) -> dict[str, Any]:
    """Every provider and size `repeats` times in fresh processes; medians and spreads."""
    results: dict[str, Any] = {"providers": {name: {"sizes": {}} for name in providers}}
    for size in sizes:
        mix = prepare(size, directory)
        for name in providers:
            runs = [_in_subprocess(name, size, directory) for _ in range(repeats)]
            results["providers"][name]["sizes"][str(size)] = _summary(runs, mix)
    return results


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        "Goal 4: local work, N rows against N existing partners (median of fresh processes)",
        f"  {'provider':<10} {'rows':>9} {'prepare':>7} {'dups':>6} {'plan':>6} {'total':>6}"
        f" {'(spread)':>13} {'CPU s':>6} {'peak MB':>8} {'scan s':>7}",
    ]
    for name, provider in results["providers"].items():
        for size, entry in provider["sizes"].items():
            stages = entry["stages"]
            lines.append(
                f"  {name:<10} {int(size):>9,} {stages['prepare']:>7.3f}"
                f" {stages['duplicates']:>6.3f} {stages['plan']:>6.3f} {entry['total']:>6.3f}"
                f" {entry['total_spread']:>13} {entry['cpu_seconds']:>6.2f}"
                f" {entry['peak_mb']:>8.0f} {entry['scan_seconds']:>7.2f}"
            )
    for name, provider in results["providers"].items():
        for size, entry in provider["sizes"].items():
            lines.append(
                f"  {name} {int(size):,} rows: plan {entry['counts']}, {entry['one_by_one']} rows"
                f" validated one by one; reading alone {entry['read_alone']:.3f}s (in prepare);"
                f" scan of {entry['partners']:,} partners {entry['scan_seconds']:.2f}s, index"
                f" built in {entry['index_seconds']:.3f}s (neither in the total); memory at start"
                f" {entry['baseline_mb']:.0f} MB; then an outcome per row and the report file"
                f" {entry['report_seconds']:.2f}s more, peak {entry['peak_with_report_mb']:.0f} MB"
            )
        largest = provider["sizes"].get("1000000")
        if largest:
            ok_time = largest["total"] <= GOAL_SECONDS
            ok_memory = largest["peak_mb"] <= GOAL_MB
            lines.append(
                f"  {name} 1M rows: {largest['total']:.2f}s median, {largest['total_best']:.2f}s"
                f" best of {largest['repeats']} (goal <= {GOAL_SECONDS}s:"
                f" {'met' if ok_time else 'MISSED'}), {largest['cpu_seconds']:.2f} CPU-seconds"
                f" on {os.cpu_count()} cores; peak {largest['peak_mb']:.0f} MB"
                f" (goal <= {GOAL_MB} MB: {'met' if ok_memory else 'MISSED'}); polars alone reads"
                f" and writes back the same file in {largest['polars_alone']:.2f}s here: the total"
                f" is {largest['total'] / largest['polars_alone']:.1f}x that"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("provider", choices=PROVIDERS)
    parser.add_argument("size", type=int)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    print(json.dumps(measure(args.provider, args.size, args.directory)))


if __name__ == "__main__":
    main()
