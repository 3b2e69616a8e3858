"""The whole `partner-sync plan` command on a file of new partners, against polars alone.

For each provider, `partner-sync plan ROSTER --provider P` runs as a user runs it: its own
process, no API key, so the built-in sandbox serves an empty account (the network costs two
calls). The baseline is polars alone reading the same CSV and writing it back. Each is timed
(wall clock) and its peak resident memory taken from the kernel when the process ends.

Run it alone with `python -m bench.plan_million [--rows N] [--repeats N]`, or within
`python -m bench --only plan_million`. This module imports nothing heavy at the top: the process
that starts the measured ones must stay small, since a child's peak memory (ru_maxrss) starts
from its parent's size at the fork.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import as_installed, compile_bytecode, in_fresh_process, median

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("dub", "partnero", "promotekit")
GOAL_RATIO = 8.0  # the command within 8x the time polars alone needs
GOAL_MB = 1200.0  # and within 1.2 GB

# The roster: new partners, valid for every provider, in the columns of samples/roster.csv.
_WRITE_ROSTER = """
import sys
from pathlib import Path
import polars as pl
from bench import data
rows = int(sys.argv[1])
data.roster(rows).with_columns(country=pl.lit("US")).write_csv(Path(sys.argv[2]))
"""

# Polars alone: read the file, write it back; the time of those two inside the process.
_POLARS_ALONE = """
import json, sys
from pathlib import Path
from bench.stats import polars_alone_seconds
print(json.dumps({"inside": polars_alone_seconds(Path(sys.argv[1]), Path(sys.argv[2]))}))
"""


def _run_alone(args: list[str], *, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run `args` and reap it with wait4, which gives this one child's own peak memory."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "code": process.returncode,
            "seconds": seconds,
            "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "stdout": out.read(),
            "stderr": err.read(),
        }


def _environment() -> dict[str, str]:
    """No provider key: the command uses its built-in sandbox, an empty account; its modules
    load from compiled bytecode, as an installed command's do."""
    compile_bytecode(ROOT)
    return as_installed(
        {name: value for name, value in os.environ.items() if not name.endswith("_API_KEY")}
    )


def _checked(run: dict[str, Any], what: str) -> dict[str, Any]:
    if run["code"] != 0:
        raise RuntimeError(
            f"{what} exited {run['code']}:\n{run['stdout']}\n{run['stderr'][-2000:]}"
        )
    return run


def _summary_counts(stdout: str) -> str:
    """`create 1000000` from the summary line `plan: N rows into P in Xs: create N`."""
    for line in stdout.splitlines():
        if line.startswith("plan: "):
            return line.rsplit(": ", 1)[-1]
    return "?"


def measure(rows: int, repeats: int, directory: Path) -> dict[str, Any]:
    """Write the roster, then time polars alone and each provider's `plan`, `repeats` times."""
    env = _environment()
    roster = directory / "roster.csv"
    _checked(
        _run_alone(
            [sys.executable, "-c", _WRITE_ROSTER, str(rows), str(roster)], cwd=ROOT, env=env
        ),
        "writing the roster",
    )
    baseline_runs = []
    for _ in range(repeats):
        run = _checked(
            _run_alone(
                [sys.executable, "-c", _POLARS_ALONE, str(roster), str(directory / "copy.csv")],
                cwd=ROOT,
                env=env,
            ),
            "polars alone",
        )
        run["inside"] = json.loads(run["stdout"])["inside"]
        baseline_runs.append(run)
    baseline = {
        "seconds": median([run["inside"] for run in baseline_runs]),
        "process_seconds": median([run["seconds"] for run in baseline_runs]),
        "peak_mb": median([run["peak_mb"] for run in baseline_runs]),
        "cpu_seconds": median([run["cpu_seconds"] for run in baseline_runs]),
    }
    results: dict[str, Any] = {"rows": rows, "repeats": repeats, "baseline": baseline}
    for provider in PROVIDERS:
        runs = [_plan(provider, roster, directory, env) for _ in range(repeats)]
        seconds = median([run["seconds"] for run in runs])
        peak = median([run["peak_mb"] for run in runs])
        results[provider] = {
            "seconds": seconds,
            "best_seconds": min(run["seconds"] for run in runs),
            "cpu_seconds": median([run["cpu_seconds"] for run in runs]),
            "peak_mb": peak,
            "time_ratio": seconds / baseline["seconds"],
            "cpu_ratio": median([run["cpu_seconds"] for run in runs]) / baseline["cpu_seconds"],
            "memory_ratio": peak / baseline["peak_mb"],
            "counts": _summary_counts(runs[0]["stdout"]),
        }
    return results


def _plan(provider: str, roster: Path, directory: Path, env: dict[str, str]) -> dict[str, Any]:
    report = directory / f"plan-{provider}.csv"
    args = [sys.executable, "-m", "sync", "plan", str(roster), "--provider", provider]
    run = _run_alone([*args, "--report", str(report)], cwd=ROOT, env=env)
    return _checked(run, f"partner-sync plan --provider {provider}")


def report(results: dict[str, Any]) -> list[str]:
    baseline = results["baseline"]
    lines = [
        f"Goal 5: `partner-sync plan` of {results['rows']:,} new partners, an empty account,"
        f" against polars alone reading the CSV and writing it back (median of"
        f" {results['repeats']}; goal: within {GOAL_RATIO:.0f}x the time, {GOAL_MB:,.0f} MB)",
        f"  polars alone: {baseline['seconds']:.2f}s to read and write"
        f" ({baseline['process_seconds']:.2f}s with its start, {baseline['cpu_seconds']:.2f}"
        f" CPU-seconds), peak {baseline['peak_mb']:.0f} MB",
        f"  {'provider':<11} {'seconds':>8} {'best':>6} {'CPU s':>6} {'peak MB':>8}"
        f" {'time x':>7} {'CPU x':>6} {'memory x':>8}  verdict",
    ]
    for provider in PROVIDERS:
        entry = results[provider]
        met = entry["time_ratio"] <= GOAL_RATIO and entry["peak_mb"] <= GOAL_MB
        lines.append(
            f"  {provider:<11} {entry['seconds']:>8.2f} {entry['best_seconds']:>6.2f}"
            f" {entry['cpu_seconds']:>6.2f} {entry['peak_mb']:>8.0f}"
            f" {entry['time_ratio']:>6.1f}x {entry['cpu_ratio']:>5.1f}x"
            f" {entry['memory_ratio']:>7.1f}x"
            f"  {'met' if met else 'MISSED'} ({entry['counts']})"
        )
    lines.append(
        "  (time x: the command's wall time, start-up included, over polars alone's read and"
        " write; CPU x: both whole processes' CPU-seconds, which a busy machine moves less)"
    )
    return lines


def run(rows: int, repeats: int) -> dict[str, Any]:
    """Measure in a fresh, small process: this one may be large (see the module's note)."""
    args = ["--rows", str(rows), "--repeats", str(repeats), "--json"]
    return in_fresh_process("bench.plan_million", args, cwd=ROOT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_million", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the roster")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, median reported")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        results = measure(args.rows, args.repeats, Path(directory))
    if args.json:
        print(json.dumps(results))
    else:
        print("\n".join(report(results)))


if __name__ == "__main__":
    main()
