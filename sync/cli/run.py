"""Running a command: settings, the built-in sandbox, the files of the run, the run itself under
signal handling, and errors as one line with their exit code."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

from sync import logs
from sync.account_lock import account_lock
from sync.checkpoint import Checkpoint
from sync.cli.summary import finish, reported_if_stopped
from sync.credentials import known_secrets
from sync.errors import Interrupted, SyncError
from sync.paths import check_run_files, run_files
from sync.pipeline import run_plan, run_sync
from sync.progress import display as progress_display
from sync.run_result import SoFar
from sync.sandbox.builtin import serve_builtins
from sync.settings import Settings, resolve_settings
from sync.sources.snapshot import passing_snapshot
from sync.verify import run_verify

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def resolve(options: dict[str, Any], *, writes: bool = False) -> Settings:
    """The run's settings, with logging set up to hide every key they hold."""
    settings = resolve_settings(options, writes=writes)
    logs.configure(
        secrets=settings.secrets,
        json=options.get("json_logs"),
        verbose=bool(options.get("verbose")),
    )
    return settings


def plan_command(options: dict[str, Any], command: str = "plan") -> int:
    settings = resolve(options)
    so_far = SoFar()
    stack = contextlib.ExitStack()
    with reported_if_stopped(so_far, settings, command), stack, progress_display() as progress:
        settings = passing_snapshot(settings, stack)
        check_run_files(run_files(settings, keeps_checkpoint=False))
        settings = serve_builtins(settings, stack)
        if command == "verify":
            result = run_async(run_verify(settings, progress))
        else:
            result = run_async(run_plan(settings, progress, so_far))
    return finish(result, settings, command)


def sync_command(options: dict[str, Any]) -> int:
    settings = resolve(options, writes=True)
    checkpoint_path = settings.checkpoint
    assert checkpoint_path is not None
    so_far = SoFar()
    reported = reported_if_stopped(so_far, settings, "sync", checkpoint_path)
    with reported, contextlib.ExitStack() as opened:
        # Before the checkpoint is created: a refused run leaves nothing behind.
        check_run_files(run_files(settings))
        # Before the first request: a second run on this account stops here, sending nothing.
        opened.enter_context(
            account_lock(
                settings.provider.name, settings.bound_url or settings.base_url, settings.account
            )
        )
        restart = settings.restart  # a damaged checkpoint is set aside, then started anew
        checkpoint = opened.enter_context(Checkpoint.open(checkpoint_path, restart=restart))
        settings = serve_builtins(settings, opened)
        try:
            # Closed before anything below prints: a line must not land inside the bars.
            with progress_display() as progress:
                result = run_async(run_sync(settings, checkpoint, progress, so_far))
        except Interrupted:
            click.echo(
                f"interrupted: checkpoint saved at {checkpoint_path}; "
                "run the same command again to finish",
                err=True,
            )
            raise
    return finish(result, settings, "sync", checkpoint_path)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the coroutine; SIGINT/SIGTERM cancel it cleanly and become `Interrupted`."""

    async def main() -> T:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await coroutine
        except asyncio.CancelledError:
            raise Interrupted(
                "interrupted by a signal; the checkpoint holds all progress"
            ) from None

    return asyncio.run(main())


def run_command(action: Callable[[], int]) -> None:
    try:
        code = action()
    except SyncError as error:
        message = one_line(logs.Redactor(known_secrets()).scrub(str(error)))
        click.echo(f"partner-sync: error: {message}", err=True)
        sys.exit(error.exit_code)
    sys.exit(code)


def one_line(message: str, limit: int = 2000) -> str:
    """An error as one line of bounded length: it may quote a header or a cell of the input."""
    line = _CONTROL.sub(" ", message)
    return line if len(line) <= limit else line[:limit] + "..."
