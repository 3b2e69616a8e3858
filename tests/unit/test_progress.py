"""The progress display and the logs share one console on a terminal, and neither exists in a
pipe: in-process, over a stream that says it is (or is not) a terminal."""

from __future__ import annotations

import io
import re

import structlog

from sync import logs, progress

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_pipe_there_is_no_display_and_logs_are_plain_lines() -> None:
    for json in (None, False):
        stream = io.StringIO()
        logs.configure(stream=stream, json=json, secrets=["sk_live_0123456789"])
        with progress.display() as shown:
            assert shown is None
        structlog.get_logger().info("sending partners", key="sk_live_0123456789")
        written = stream.getvalue()
        assert "sending partners" in written and "[redacted]" in written
        assert "\x1b" not in written and "sk_live" not in written


def test_on_a_terminal_logs_print_through_the_display_s_console_above_its_bars() -> None:
    stream = _Terminal()
    logs.configure(stream=stream, secrets=["sk_live_0123456789"])
    console = logs.terminal()
    assert console is not None and console.file is stream
    with progress.display() as shown:
        assert isinstance(shown, progress.StageDisplay)
        shown("creating", 1, 4)
        structlog.get_logger().warning("a pause", key="sk_live_0123456789")
        shown("creating", 4, 4)
    written = ESCAPE.sub("", stream.getvalue())
    assert "sk_live" not in written
    lines = written.replace("\r", "\n").splitlines()
    logged = [line for line in lines if "a pause" in line]
    # Printed by the console that draws the bars: it starts its own line, with no bar in it.
    assert logged and all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in logged), lines
    assert all("━" not in line for line in logged)
    assert any(re.match(r"sending\s+━+\s+4/4\s+[\d.,]+/s\s+ETA 0:00:00", line) for line in lines)


def test_a_stage_without_a_known_total_ends_showing_its_count_as_the_total() -> None:
    stream = _Terminal()
    logs.configure(stream=stream)
    with progress.display() as shown:
        assert shown is not None
        shown("listing", 3, None)
        shown("creating", 0, 2)
    assert re.search(r"listing partners \(pages\)\s+━+\s+3/3", ESCAPE.sub("", stream.getvalue()))
