"""Goal 4, local work: read → map → validate → duplicates → plan for N rows against N partners.

No network: the partners that exist are an in-memory index (`ExistingPartners`), as a full scan
leaves them. Each size runs in a fresh process, so that its peak memory is its own; the
repetitions' medians are reported. The row-by-row reference (the pipeline before the columnar
core) runs on the smaller sizes for comparison.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from bench import data
from bench.stats import median, peak_rss_mb, spread

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "mappings" / "dub.toml"


def prepare(size: int, directory: Path) -> dict[str, Any]:
    """Write the roster (CSV) and the existing partners (Parquet) for one size."""
    frame, mix = data.mixed_roster(size)
    data.write_csv(frame, directory / f"roster-{size}.csv")
    data.partners(0, size).write_parquet(directory / f"partners-{size}.parquet")
    return asdict(mix)


def measure(size: int, directory: Path) -> dict[str, Any]:
    """One timed run, in this process (run it in a fresh one), through the functions
    `partner-sync plan` runs, in its order: `pipeline.prepare` (read, map, validate), the split
    of duplicates, then the existing partners arrive (here from a file, as a full listing would
    leave them; not timed), then `pipeline.plan_rows` decides every row. After that, the rest of
    the command's local work: one outcome per row and the report file."""
    from pydantic import SecretStr

    from sync.columnar.existing import ExistingPartners
    from sync.columnar.plan import split_keys
    from sync.pipeline import plan_outcomes, plan_rows, prepare
    from sync.providers.dub import Dub
    from sync.reader import read_table
    from sync.report import write_report
    from sync.settings import Settings

    settings = Settings(
        input=directory / f"roster-{size}.csv",
        provider=Dub(),
        base_url="http://127.0.0.1:9",  # never called: nothing here uses the network
        api_key=SecretStr("unused"),
        mapping=MAPPING,
    )
    gc.collect()
    before = peak_rss_mb()
    times: dict[str, float] = {}
    cpu = time.process_time()
    clock = time.perf_counter()
    prepared = prepare(settings)
    times["prepare"] = time.perf_counter() - clock
    clock = time.perf_counter()
    distinct = split_keys(prepared.valid.keys, settings.tenant_label)
    times["duplicates"] = time.perf_counter() - clock
    cpu_seconds = time.process_time() - cpu

    clock = time.perf_counter()
    stored = pl.read_parquet(
        directory / f"partners-{size}.parquet", columns=["id", "email", "tenantId"]
    )
    existing = ExistingPartners.from_columns(stored["id"], stored["email"], stored["tenantId"])
    existing.index  # noqa: B018 - builds the index (keys, first sightings)
    del stored
    index_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    cpu = time.process_time()
    plan = plan_rows(prepared.valid, distinct, existing, settings.tenant_label)
    times["plan"] = time.perf_counter() - clock
    cpu_seconds += time.process_time() - cpu
    times["total"] = sum(times.values())
    peak = peak_rss_mb()

    # The rest of `partner-sync plan` without the network: outcomes, counts, the report.
    clock = time.perf_counter()
    outcomes = plan_outcomes(plan, settings.mode)
    counts = outcomes.counts()
    write_report(directory / f"report-{size}.csv", outcomes)
    report_seconds = time.perf_counter() - clock
    peak_with_report = peak_rss_mb()

    # Breakdown, after the peaks are taken: the read alone.
    clock = time.perf_counter()
    read_table(settings.input)
    read_alone = time.perf_counter() - clock
    return {
        "size": size,
        "seconds": times,
        "read_alone": read_alone,
        "index_seconds": index_seconds,
        "report_seconds": report_seconds,
        "cpu_seconds": cpu_seconds,  # all threads: what the stages cost, whatever the load
        "peak_mb": peak,
        "peak_with_report_mb": peak_with_report,
        "baseline_mb": before,
        "one_by_one": prepared.valid.checked_one_by_one,
        "counts": dict(counts),
    }


def measure_reference(size: int, directory: Path) -> dict[str, Any]:
    """The row-by-row pipeline (rows as dicts, pydantic per row, a dict index of partners)."""
    from sync.mapping import bind_mapping, load_mapping
    from sync.models import RemotePartner
    from sync.plan import RemoteIndex, build_plan
    from sync.providers.dub import Dub
    from sync.reader import read_table
    from sync.validate import validate_rows

    provider = Dub()
    stored = pl.read_parquet(directory / f"partners-{size}.parquet")
    index = RemoteIndex()
    index.extend(
        RemotePartner(partner_id, email, tenant)
        for partner_id, email, tenant in stored.select("id", "email", "tenantId").iter_rows()
    )
    del stored
    gc.collect()
    clock = time.perf_counter()
    table = read_table(directory / f"roster-{size}.csv")
    rows = table.rows
    mapping = bind_mapping(load_mapping(MAPPING), table.columns, provider.known_fields())
    validated = validate_rows(rows, mapping, provider.schema, provider.tenant_field)
    entries = build_plan(validated.candidates, validated.invalid, index)
    seconds = time.perf_counter() - clock
    return {"size": size, "seconds": seconds, "peak_mb": peak_rss_mb(), "rows": len(entries)}


def _in_subprocess(mode: str, size: int, directory: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.local", mode, str(size), str(directory)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(
    sizes: list[int], repeats: int, reference_sizes: list[int], directory: Path
) -> dict[str, Any]:
    """Every size `repeats` times in fresh processes; medians and spreads."""
    results: dict[str, Any] = {"sizes": {}}
    for size in sizes:
        mix = prepare(size, directory)
        runs = [_in_subprocess("measure", size, directory) for _ in range(repeats)]
        stages = {
            stage: median([run["seconds"][stage] for run in runs]) for stage in runs[0]["seconds"]
        }
        totals = [run["seconds"]["total"] for run in runs]
        entry = {
            "mix": mix,
            "stages": stages,
            "total": median(totals),
            "total_spread": spread(totals),
            "total_best": min(totals),
            "cpu_seconds": median([run["cpu_seconds"] for run in runs]),
            "read_alone": median([run["read_alone"] for run in runs]),
            "report_seconds": median([run["report_seconds"] for run in runs]),
            "peak_with_report_mb": median([run["peak_with_report_mb"] for run in runs]),
            "index_seconds": median([run["index_seconds"] for run in runs]),
            "peak_mb": median([run["peak_mb"] for run in runs]),
            "baseline_mb": median([run["baseline_mb"] for run in runs]),
            "one_by_one": runs[0]["one_by_one"],
            "counts": runs[0]["counts"],
            "repeats": repeats,
        }
        if size in reference_sizes:
            reference = _in_subprocess("reference", size, directory)
            entry["reference_seconds"] = reference["seconds"]
            entry["reference_peak_mb"] = reference["peak_mb"]
        results["sizes"][str(size)] = entry
    return results


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        "Goal 4: local work, N rows against N existing partners (median of fresh processes)",
        f"  {'rows':>9} {'prepare':>7} {'dups':>6} {'plan':>6} {'total':>6}"
        f" {'(spread)':>13} {'CPU s':>6} {'peak MB':>8} {'s/M rows':>8}",
    ]
    for size, entry in results["sizes"].items():
        stages = entry["stages"]
        per_million = entry["total"] / int(size) * 1e6
        lines.append(
            f"  {int(size):>9,} {stages['prepare']:>7.3f}"
            f" {stages['duplicates']:>6.3f} {stages['plan']:>6.3f} {entry['total']:>6.3f}"
            f" {entry['total_spread']:>13} {entry['cpu_seconds']:>6.2f} {entry['peak_mb']:>8.0f}"
            f" {per_million:>8.2f}"
        )
    for size, entry in results["sizes"].items():
        lines.append(
            f"  {int(size):,} rows: plan {entry['counts']}, {entry['one_by_one']} rows validated"
            f" one by one; reading alone {entry['read_alone']:.3f}s (in prepare); index of"
            f" {int(size):,} partners built in {entry['index_seconds']:.3f}s (not in the total);"
            f" memory at start {entry['baseline_mb']:.0f} MB"
        )
        lines.append(
            f"    then the rest of `plan`: an outcome per row and the report file"
            f" {entry['report_seconds']:.2f}s more, peak {entry['peak_with_report_mb']:.0f} MB"
        )
        if "reference_seconds" in entry:
            speedup = entry["reference_seconds"] / entry["total"]
            lines.append(
                f"    row-by-row reference: {entry['reference_seconds']:.2f}s,"
                f" peak {entry['reference_peak_mb']:.0f} MB -> columnar is {speedup:.0f}x faster"
            )
    largest = results["sizes"].get("1000000")
    if largest:
        ok_time = largest["total"] <= 1.5
        ok_memory = largest["peak_mb"] <= 1024
        lines.append(
            f"  1M rows: {largest['total']:.2f}s median, {largest['total_best']:.2f}s best of"
            f" {largest['repeats']} (goal <= 1.5s: {'met' if ok_time else 'MISSED'}),"
            f" {largest['cpu_seconds']:.2f} CPU-seconds on {os.cpu_count()} cores;"
            f" peak {largest['peak_mb']:.0f} MB"
            f" (goal <= 1024 MB: {'met' if ok_memory else 'MISSED'})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["measure", "reference"])
    parser.add_argument("size", type=int)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    if args.mode == "measure":
        result = measure(args.size, args.directory)
    else:
        result = measure_reference(args.size, args.directory)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
