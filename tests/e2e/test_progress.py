"""What a person sees of a run: on a terminal, each stage's bar with its count, rate, ETA and
elapsed time, and log lines above the bars, each on its own line; in a pipe, plain lines only."""

from __future__ import annotations

import asyncio
import json
import re

from sync import progress
from sync.sandbox import Faults, Sandbox
from sync.settings import resolve_settings
from sync.sources.platform import Reading

from .conftest import ROOT, cli_env, run_cli, sync_args, write_roster
from .terminal import run_on_terminal

WIDTH = 100
ROWS = 30
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
BAR = "━"
CLOCK = r"\d+:\d\d:\d\d"
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _roster_sync(make_sandbox, tmp_path, *extra: str) -> list[str]:
    sandbox = make_sandbox("dub", faults=Faults(latency=0.02))
    write_roster(tmp_path / "roster.csv", ROWS)
    # 30 creates a second, a second of sending: long enough for the bars to show a measured
    # rate and ETA several times over, even on a loaded machine; short for the suite.
    return sync_args(sandbox, tmp_path, tmp_path / "roster.csv", *extra, rate_limit="1800")


def test_a_terminal_shows_every_stage_with_count_rate_eta_and_logs_above_it(make_sandbox, tmp_path):
    run = run_on_terminal(
        _roster_sync(make_sandbox, tmp_path), env=cli_env(), cwd=ROOT, width=WIDTH
    )
    assert run.code == 0, run.raw
    screen = run.screen(WIDTH)

    # Each stage's bar stays on screen when done: its count, its rate, ETA, elapsed.
    for label, count in (("reading input", f"{ROWS}/{ROWS}"), ("sending", f"{ROWS}/{ROWS}")):
        bars = [line for line in screen if line.startswith(label) and BAR in line]
        assert len(bars) == 1, screen
        pattern = rf"{count}\s+[\d.,]+/s\s+ETA {CLOCK}\s+elapsed {CLOCK}$"
        assert re.search(pattern, bars[0]), bars[0]
    assert any(line.startswith("listing partners") for line in screen), screen

    # While sending, the ETA was an estimate from the rate, not a placeholder.
    frames = ESCAPE.sub("", run.raw).replace("\r", "\n").splitlines()
    running = [f for f in frames if f.startswith("sending") and f" {ROWS}/{ROWS} " not in f]
    assert any(re.search(rf"[\d.,]+/s\s+ETA {CLOCK}", frame) for frame in running), running

    # Every log line starts a line of its own; no bar has log text in it, nor a log line a bar.
    logged = [line for line in screen if "[info" in line or "[warning" in line]
    assert len(logged) >= 3, screen
    assert all(TIMESTAMP.match(line) for line in logged), logged
    assert not [line for line in screen if BAR in line and TIMESTAMP.search(line)], screen
    for event in ("plan saved", "sending partners"):
        assert any(TIMESTAMP.match(line) and event in line for line in screen), (event, screen)
    # The summary stays on stdout, untouched by the display.
    assert run.stdout.startswith(f"sync: {ROWS} rows into dub"), run.stdout
    assert "\x1b" not in run.stdout


def test_ctrl_c_under_the_bars_says_so_on_a_line_of_its_own(make_sandbox, tmp_path):
    sandbox = make_sandbox("dub", faults=Faults(latency=0.1))
    write_roster(tmp_path / "roster.csv", 60)
    args = sync_args(sandbox, tmp_path, tmp_path / "roster.csv", "--concurrency", "2")
    run = run_on_terminal(
        args,
        env=cli_env(),
        cwd=ROOT,
        width=WIDTH,
        interrupt_when=lambda: sandbox.stats.creates_committed >= 5,
    )
    assert run.code == 130, run.raw
    screen = run.screen(WIDTH)
    said = [line for line in screen if "interrupted: checkpoint saved" in line]
    assert len(said) == 1 and said[0].startswith("interrupted: "), screen
    sending = [line for line in screen if line.startswith("sending") and BAR in line]
    assert len(sending) == 1 and f"/{ROWS * 2} " in sending[0], screen  # stopped part-way
    assert re.search(rf"\b([1-9]|[1-5]\d)/{ROWS * 2} ", sending[0]), sending[0]


def test_a_piped_run_prints_plain_lines_and_no_escape_codes(make_sandbox, tmp_path):
    args = _roster_sync(make_sandbox, tmp_path)
    run = run_cli(args, env={**cli_env(), "FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert run.code == 0, run.output
    assert "\x1b" not in run.output and "\r" not in run.output and BAR not in run.output
    events = [json.loads(line)["event"] for line in run.stderr.splitlines()]
    assert "sending partners" in events


# Against a Tolt sandbox on loopback, so here rather than in the in-process tier.
def test_reading_a_source_platform_is_shown_as_a_stage_with_its_count() -> None:
    key, program = "tolt_key_3Nc8Wd5Kz1", "prg_sandbox"
    seed = [{"email": f"p{n}@example.com", "program_id": program} for n in range(12)]
    shown: list[tuple[str, int, int | None]] = []
    with Sandbox("tolt", seed=seed, api_key=key, rate_limit=0) as tolt:
        options = {"provider": "dub", "source": "tolt", "from_base_url": tolt.base_url}
        env = {"TOLT_API_KEY": key, "TOLT_PROGRAM_ID": program, "DUB_API_KEY": "dub_x"}
        reading = resolve_settings(options, env=env).source
        assert isinstance(reading, Reading)
        rows = asyncio.run(reading.read_partners(lambda *step: shown.append(step)))
    assert len(rows) == 12
    assert shown == [("reading platform", 0, None), ("reading platform", 12, 12)]
    assert progress.LABELS["reading platform"] == "reading source (partners)"
