"""The benchmarks' entry point runs end to end on the smallest cases (figures are not checked)."""

from __future__ import annotations

import json

from bench.run import main


def test_bench_runs_and_writes_its_results(tmp_path, capsys):
    output = tmp_path / "results.json"
    main(["--smoke", "--only", "local", "--only", "calls", "--output", str(output)])
    printed = capsys.readouterr().out
    assert "Goal 2" in printed and "Goal 4" in printed
    results = json.loads(output.read_text())
    assert results["mode"] == "smoke"
    assert {case["case"] for case in results["calls"]["cases"]} == {
        "migration",
        "nightly-delta",
        "nightly-full-roster",
    }
    assert all(case["created"] == case["new"] for case in results["calls"]["cases"])
    for provider in ("dub", "partnero", "promotekit"):
        local = results["local"]["providers"][provider]["sizes"]["1000"]
        assert local["counts"]["exists"] > 0 and local["partners"] == 1000
