"""Goal 1, throughput: creates per second ÷ the rate limit, with 150 ms (±50) latency.

The sandbox enforces Dub's sliding one-minute window. Three cases:
- the limit is known (--rate-limit R): the pace, and the 429s (there should be none);
- the limit is unknown and the tool starts too low (--rate-limit-guess R/2), or too high (2.5R):
  how many 429s it takes, when the last one comes, and when its pace settles.

The pace is the sandbox's: creates committed over the time from its first to its last. The bench
also samples the count twice a second while the CLI runs, to see when the pace settles.
"Settled" is the start of the first 10-second stretch from which every later full stretch runs
at 97% of the limit or more; the pace reported after it is measured from there to the end.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import data
from bench.harness import run_cli, sync_args
from sync.sandbox import Faults, Sandbox

LATENCY = Faults(latency=0.15, jitter=0.05)
STRETCH = 10.0  # seconds


@dataclass
class Samples:
    """(seconds since start, creates committed, 429s answered), twice a second."""

    points: list[tuple[float, int, int]] = field(default_factory=list)

    def rate(self, start: float, end: float) -> float:
        """Creates per second between two sample times."""
        first = min(self.points, key=lambda point: abs(point[0] - start))
        last = min(self.points, key=lambda point: abs(point[0] - end))
        return (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0

    def active(self) -> tuple[float, float]:
        """From the first create to the last."""
        creating = [point for point in self.points if point[1] > 0]
        total = self.points[-1][1]
        started = next(point[0] for point in self.points if point[1] > 0)
        ended = next(point[0] for point in creating if point[1] == total)
        return started, ended

    def settled(self, per_second: float) -> float | None:
        """When the pace reached 97% of `per_second` for good (None: never)."""
        start, end = self.active()
        stretches = []
        moment = start
        while moment + STRETCH <= end:
            stretches.append((moment, self.rate(moment, moment + STRETCH)))
            moment += STRETCH / 2
        for index, (moment, _) in enumerate(stretches):
            if all(rate >= 0.97 * per_second for _, rate in stretches[index:]):
                return moment
        return None


def _sample(sandbox: Sandbox, samples: Samples, stop: threading.Event, started: float) -> None:
    while not stop.is_set():
        stats = sandbox.stats
        samples.points.append(
            (time.perf_counter() - started, stats.creates_committed, stats.rate_limited)
        )
        stop.wait(0.5)


def one(name: str, rows: int, per_minute: int, flags: list[str], workdir: Path) -> dict[str, Any]:
    """Sync `rows` new partners into a sandbox that allows `per_minute` requests a minute."""
    roster = data.write_csv(data.roster(rows), workdir / f"{name}.csv")
    samples = Samples()
    stop = threading.Event()
    with Sandbox("dub", rate_limit=per_minute, faults=LATENCY) as sandbox:
        started = time.perf_counter()
        sampler = threading.Thread(target=_sample, args=(sandbox, samples, stop, started))
        sampler.start()
        try:
            run = run_cli(sync_args(sandbox, roster, workdir, *flags))
        finally:
            stop.set()
            sampler.join()
        samples.points.append(
            (
                time.perf_counter() - started,
                sandbox.stats.creates_committed,
                sandbox.stats.rate_limited,
            )
        )
        stats = sandbox.stats
        refused, peak, created = stats.rate_limited, stats.max_in_flight, stats.creates_committed
        first, last = stats.first_commit or 0.0, stats.last_commit or 0.0
    per_second = per_minute / 60
    start, end = samples.active()
    # From the first create to the last, as the sandbox timed them: N - 1 intervals.
    overall = (created - 1) / (last - first) if last > first else 0.0
    settled = samples.settled(per_second)
    refusals = [point[0] for point in samples.points if point[2] > 0]
    reported = run.line("creates:")
    return {
        "case": name,
        "rows": rows,
        "created": created,
        "limit_per_minute": per_minute,
        "flags": " ".join(flags),
        "tool_creates_line": reported,
        "rate": overall,
        "ratio": overall / per_second,
        "rate_429s": refused,
        "first_429_at": (refusals[0] - start) if refusals else None,
        "settled_at": (settled - start) if settled is not None else None,
        "ratio_after_settling": (
            samples.rate(settled, end) / per_second if settled is not None else None
        ),
        "max_in_flight": peak,
        "seconds": run.seconds,
        "budget_line": run.line("rate limit:"),
    }


def run(known_rows: int, unknown_rows: int, per_minute: int = 1200) -> dict[str, Any]:
    """The known limit, and (when `unknown_rows`) the two wrong guesses."""
    cases = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        cases.append(
            one("known", known_rows, per_minute, ["--rate-limit", str(per_minute)], workdir)
        )
        if unknown_rows:
            for name, guess in (("guess-too-low", per_minute // 2), ("guess-too-high", 3000)):
                flags = ["--rate-limit-guess", str(guess)]
                cases.append(one(name, unknown_rows, per_minute, flags, workdir))
    return {"cases": cases}


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        "Goal 1: throughput against the limit (150 ms ± 50 latency; goal >= 0.97, "
        "no 429 with a known limit)"
    ]
    for case in results["cases"]:
        limit = case["limit_per_minute"]
        head = (
            f"  {case['case']:<15} {case['created']:>5} creates at {limit}/min ({case['flags']}):"
            f" {case['rate']:.2f}/s = {case['ratio']:.3f} of the limit; {case['rate_429s']} 429s"
        )
        if case["case"] == "known":
            met = case["ratio"] >= 0.97 and case["rate_429s"] == 0
            head += f" ({'met' if met else 'MISSED'})"
        lines.append(head)
        details = [f"peak {case['max_in_flight']} requests in flight"]
        if case["first_429_at"] is not None:
            details.append(f"first 429 after {case['first_429_at']:.1f}s")
        if case["settled_at"] is not None:
            details.append(
                f"settled at 97%+ after {case['settled_at']:.0f}s, then"
                f" {case['ratio_after_settling']:.3f} of the limit"
            )
        if case["budget_line"]:
            details.append(case["budget_line"])
        lines.append("  " + " " * 15 + " " + "; ".join(details))
    return lines
