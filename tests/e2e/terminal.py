"""The CLI on a pseudo-terminal, and the screen a person would see of what it wrote there.

`Screen` plays the bytes back the way a terminal does for the few controls a progress display
uses (carriage return, line feed, cursor up/down/column, erase in line, automatic wrap at the
width); colours and other modes are dropped. What a person sees is then plain lines to assert on.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.keyscan import SCAN

CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class Screen:
    """A terminal of a fixed width, as tall as what was written to it."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[list[str]] = [[]]
        self.row = 0
        self.col = 0

    def feed(self, text: str) -> None:
        text = OSC.sub("", text)
        at = 0
        for match in CSI.finditer(text):
            self._write(text[at : match.start()])
            self._control(match.group(1), match.group(2))
            at = match.end()
        self._write(text[at:])

    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]

    def _write(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self._down()
            elif char >= " ":
                if self.col >= self.width:  # automatic wrap, as a terminal does
                    self.col = 0
                    self._down()
                line = self.lines[self.row]
                line.extend(" " * (self.col + 1 - len(line)))
                line[self.col] = char
                self.col += 1

    def _down(self) -> None:
        self.row += 1
        if self.row == len(self.lines):
            self.lines.append([])

    def _control(self, arguments: str, command: str) -> None:
        count = int(arguments) if arguments.isdigit() else None
        if command == "A":
            self.row = max(0, self.row - (count or 1))
        elif command == "B":
            for _ in range(count or 1):
                self._down()
        elif command == "G":
            self.col = (count or 1) - 1
        elif command == "K":
            line = self.lines[self.row]
            if count == 2:
                line.clear()
            elif count == 1:
                line[: self.col] = " " * min(self.col, len(line))
            else:
                del line[self.col :]
        # Colours (m), cursor visibility (?25l / ?25h) and the rest change nothing on screen.


@dataclass
class TerminalRun:
    code: int
    stdout: str
    raw: str  # every byte the run wrote to its terminal (stderr), decoded

    def screen(self, width: int) -> list[str]:
        screen = Screen(width)
        screen.feed(self.raw)
        return screen.text()


def run_on_terminal(
    args: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    width: int = 120,
    timeout: float = 120,
    interrupt_when: Callable[[], bool] | None = None,
) -> TerminalRun:
    """Run the CLI with stderr on a pseudo-terminal of `width` columns (stdout a pipe), sent
    Ctrl-C's SIGINT once `interrupt_when` holds; what it writes is scanned for keys like every
    end-to-end run's output."""
    SCAN.learn(env)
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": str(width), "LINES": "40"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sync", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        cwd=cwd,
    )
    os.close(follower)
    written = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if interrupt_when is not None and interrupt_when():
                process.send_signal(signal.SIGINT)
                interrupt_when = None
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the run ended and closed its side of the terminal
                    break
                if not chunk:
                    break
                written += chunk
            elif process.poll() is not None:
                break
        assert process.stdout is not None
        with process.stdout:
            stdout = process.stdout.read().decode()
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    run = TerminalRun(code, stdout, written.decode("utf-8", errors="replace"))
    SCAN.scan(f"stdout of {args[0]} on a terminal", run.stdout)
    SCAN.scan(f"terminal of {args[0]}", run.raw)
    SCAN.scan(f"screen of {args[0]}", "\n".join(run.screen(width)))  # colour codes taken out
    return run
