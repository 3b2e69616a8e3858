"""What a run prints when it ends or stops: the summary, the problems, how to resume; and the
report file it writes."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click

from sync.errors import ReportError, SyncError
from sync.models import RunSummary
from sync.report import summary_counts, write_report
from sync.run_result import RunResult, SoFar
from sync.sandbox.builtin import BuiltIn
from sync.settings import Settings

PROBLEM_LINES = 10


@contextlib.contextmanager
def reported_if_stopped(
    so_far: SoFar, settings: Settings, command: str, checkpoint: Path | None = None
) -> Iterator[None]:
    """A run stopped after reading its input still writes its whole report and summary."""
    try:
        yield
    except SyncError:
        if so_far.result is None:
            raise
        try:
            finish(so_far.result, settings, command, checkpoint)
        except ReportError as lost:  # the stop's own error is the one to exit with
            click.echo(f"partner-sync: error: {lost}", err=True)
        print_stop(so_far.result, command, checkpoint)
        raise


def print_stop(result: RunResult, command: str, checkpoint: Path | None) -> None:
    pending = result.summary.counts.get("pending", 0)
    again = (
        f"run the same command again to resume from checkpoint {checkpoint}"
        if checkpoint is not None
        else "run the plan again"
    )
    click.echo(f"  stopped early: {pending} rows pending; {again}")


def finish(
    result: RunResult, settings: Settings, command: str, checkpoint: Path | None = None
) -> int:
    if settings.report is not None:
        try:
            write_report(settings.report, result.outcomes)
        except ReportError as error:
            error.hint = (
                f"nothing is lost: checkpoint {checkpoint} holds every row's outcome; make "
                "room, then run the same command again: it writes the report and sends nothing"
                if checkpoint is not None
                else "make room, then run the plan again"
            )
            raise
    print_summary(result.summary, settings, command, checkpoint)
    for note in result.notes:
        click.echo(f"  {note}")
    if result.warnings:
        click.echo("  not carried across:")
        for warning in result.warnings:
            click.echo(f"    - {warning}")
    for outcome in result.outcomes.problems(PROBLEM_LINES):
        where = f" {outcome.field}" if outcome.field else ""
        click.echo(f"  row {outcome.row}: {outcome.status.value}{where}: {outcome.message}")
    bad = result.outcomes.problem_count()
    if bad > PROBLEM_LINES:
        click.echo(f"  ... and {bad - PROBLEM_LINES} more in the report")
    return 1 if bad else 0


def how_to_fill(builtin: BuiltIn) -> str:
    """How a migration's empty built-in source sandbox gets partners to move."""
    name = builtin.platform
    if builtin.seed is None:
        return f"fill the built-in {name} sandbox with --from-sandbox-seed FILE"
    if builtin.kept:  # the seed was not used: it only fills a new account
        return f"--from-sandbox-seed fills only a new account: delete {builtin.state} first"
    return "the --from-sandbox-seed file holds no partners"


def calls_line(summary: RunSummary, target: str, source: str | None) -> str:
    """The requests of the run, by kind; a migration's to its target and to its source account
    apart: "11 to dub (count 1, create 9, list 1); 2 to tapfiliate (list 2)"."""
    if source is None or summary.source_calls is None:
        return _calls_by_kind(summary.calls)
    to_target = _calls_by_kind(summary.calls, f"to {target}")
    return f"{to_target}; {_calls_by_kind(summary.source_calls, f'to {source}')}"


def _calls_by_kind(calls: Counter[str], to: str = "") -> str:
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(calls.items()))
    words = " ".join(part for part in (str(sum(calls.values())), to) if part)
    return words + (f" ({detail})" if detail else "")


def print_summary(
    summary: RunSummary, settings: Settings, command: str, checkpoint: Path | None
) -> None:
    rows = summary.total_rows
    source = settings.source.name if settings.source is not None else None
    counts = summary_counts(summary, invite=settings.invite, source=source)
    if not rows and settings.source is not None and settings.source.builtin is not None:
        counts += f"; {how_to_fill(settings.source.builtin)}"
    click.echo(
        f"{command}: {rows} rows into {settings.provider.name} in {summary.elapsed:.1f}s: {counts}"
    )
    if summary.strategy is not None:
        # A resumed run did not look: the run that made the plan did.
        by = "an earlier run's " if summary.resumed else ""
        click.echo(f"  existing partners: {by}{summary.strategy.name} ({summary.strategy.reason})")
    click.echo(f"  API calls: {calls_line(summary, settings.provider.name, source)}")
    if command == "sync" and not summary.calls.get("invite" if settings.invite else "create"):
        click.echo(f"  nothing was sent to {settings.provider.name} this run")
    budget = summary.budget or settings.rate_limit
    if summary.create_pace is not None:
        what = "invitations" if settings.invite else "creates"
        click.echo(f"  {what}: {summary.create_pace:.1f}/s (budget {budget / 60:.1f} requests/s)")
    if summary.rate_limited:
        click.echo(f"  rate limited: {summary.rate_limited} answers of 429 (every worker waited)")
    if summary.budget_learned:
        click.echo(f"  rate limit: {budget:.0f} requests/min (learned from the provider)")
    if settings.report is not None:
        click.echo(f"  report: {settings.report}")
    if checkpoint is not None and summary.resumed:
        click.echo(f"  resumed from checkpoint {checkpoint}")
