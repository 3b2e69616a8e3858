"""Run the benchmarks and print their figures: `python -m bench [--quick] [--only GOAL ...]`.

Every figure is measured against the sandbox on this machine, in this run; nothing is asserted.
The full run takes about twenty minutes; --quick (smaller cases, one repetition, the unknown-limit
cases left out) takes under one. Results also go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import calls, local, machine, plan_million, sdk, throughput

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs."""

    local_sizes: tuple[int, ...]
    local_repeats: int
    known_rows: int
    unknown_rows: int
    migration: int
    existing: int
    new: int
    sdk_existing: int
    sdk_new: int
    sdk_migration: int
    million_rows: int  # the roster of new partners that `plan` reads, per provider
    million_repeats: int


QUICK = Sizes(
    local_sizes=(10_000, 100_000, 1_000_000),
    local_repeats=1,
    known_rows=240,
    unknown_rows=0,
    migration=1_000,
    existing=20_000,
    new=100,
    sdk_existing=2_000,
    sdk_new=20,
    sdk_migration=0,
    million_rows=100_000,
    million_repeats=1,
)
FULL = Sizes(
    local_sizes=(10_000, 100_000, 1_000_000),
    local_repeats=5,
    known_rows=2_400,
    unknown_rows=3_600,
    migration=50_000,
    existing=200_000,
    new=100,
    sdk_existing=200_000,
    sdk_new=100,
    sdk_migration=1_000,
    million_rows=1_000_000,
    million_repeats=3,
)


SMOKE = Sizes(
    local_sizes=(1_000,),
    local_repeats=1,
    known_rows=10,
    unknown_rows=0,
    migration=20,
    existing=300,
    new=5,
    sdk_existing=100,
    sdk_new=3,
    sdk_migration=0,
    million_rows=1_000,
    million_repeats=1,
)


def _local(sizes: Sizes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        return local.run(list(sizes.local_sizes), sizes.local_repeats, Path(directory))


GOALS: dict[str, tuple[Callable[[Sizes], dict[str, Any]], Callable[[dict[str, Any]], list[str]]]]
GOALS = {
    # Local work first: it measures time and memory, best done before the others load the machine.
    "local": (_local, local.report),
    "plan_million": (
        lambda s: plan_million.run(s.million_rows, s.million_repeats),
        plan_million.report,
    ),
    "throughput": (
        lambda s: throughput.run(s.known_rows, s.unknown_rows),
        throughput.report,
    ),
    "calls": (lambda s: calls.run(s.migration, s.existing, s.new), calls.report),
    "sdk": (lambda s: sdk.run(s.sdk_existing, s.sdk_new, s.sdk_migration), sdk.report),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small cases, under a minute")
    size.add_argument(
        "--smoke", action="store_true", help="the smallest cases: checks that the bench runs"
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(GOALS), help="run only this benchmark"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where the JSON goes"
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    sizes = {"quick": QUICK, "smoke": SMOKE, "full": FULL}[mode]
    about = machine.describe()
    print(f"partner-sync benchmarks ({mode})")
    for name, value in about.items():
        print(f"  {name}: {value}")
    results: dict[str, Any] = {"mode": mode, "machine": about}
    started = time.perf_counter()
    for name in args.only or list(GOALS):
        measure, report = GOALS[name]
        clock = time.perf_counter()
        outcome = measure(sizes)
        outcome["seconds"] = time.perf_counter() - clock
        results[name] = outcome
        print()
        for line in report(outcome):
            print(line, flush=True)
    results["seconds"] = time.perf_counter() - started
    results["load average at end"] = machine.load_average()
    print(f"\n{results['seconds']:.0f}s in all; load average at the end {machine.load_average()}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.output}")


if __name__ == "__main__":
    main()
