"""What a person at a terminal sees of a run's stages: count, rate, ETA and elapsed time.

The stages call one callback, `(stage, done, total)`; on a terminal it drives a rich progress
display on the same console the logs are printed through (sync/logs.py), so a log line prints
above the bars, never into them. Anywhere else (a pipe, cron, CI) there is no callback at all:
plain log lines, no bar, no escape codes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import rich.progress
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from sync import logs

# What the stages call: the stage's name, how many are done, how many there are (None: unknown).
Progress = Callable[[str, int, int | None], None]

# The words a person reads for each stage's name as the code calls it.
LABELS = {
    "reading": "reading input",
    "reading source": "reading source (pages)",
    "reading platform": "reading source (partners)",
    "listing": "listing partners (pages)",
    "looking up": "looking up partners",
    "creating": "sending",
}
# How long a window the rate (and so the ETA) is measured over: long enough to smooth a 429's
# pause, short enough to follow a pace that changed.
RATE_WINDOW_SECONDS = 15.0


class RateColumn(ProgressColumn):
    """Items per second: over the recent window while running, the stage's own when done."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.finished and task.finished_time:
            speed = task.completed / task.finished_time  # done in one step: its average
        if speed is None:
            return Text("-/s", style="progress.data.speed")
        return Text(f"{speed:,.1f}/s", style="progress.data.speed")


class StageDisplay:
    """One bar per stage, in the order the stages began; a finished stage's bar stays."""

    def __init__(self, console: Console) -> None:
        self._progress = rich.progress.Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            console=console,
            speed_estimate_period=RATE_WINDOW_SECONDS,
            # stdout carries the summary (maybe into a file): only stray stderr writes are
            # moved above the bars.
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._current: str | None = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self._current:
            self._close_current()
            self._current = stage
        task = self._tasks.get(stage)
        if task is None:
            task = self._progress.add_task(LABELS.get(stage, stage), total=total)
            self._tasks[stage] = task
        self._progress.update(task, completed=done, total=total)

    def _close_current(self) -> None:
        """A stage that ended without a known total (a listing) shows its count as the total;
        one stopped part-way keeps its count and total, as they were."""
        if self._current is None:
            return
        task = self._tasks[self._current]
        shown = next(each for each in self._progress.tasks if each.id == task)
        if shown.total is None:
            self._progress.update(task, total=shown.completed)
        self._progress.stop_task(task)

    def __enter__(self) -> StageDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_current()
        self._progress.stop()


@contextlib.contextmanager
def display() -> Iterator[Progress | None]:
    """The stages' callback on a terminal (the console the logs print through), else None."""
    console = logs.terminal()
    if console is None:
        yield None
        return
    with StageDisplay(console) as stages:
        yield stages
