"""The command line: the only module that prints to stdout or exits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from sync import logs
from sync.account_lock import account_lock
from sync.catalog import builtin_mapping, builtin_mappings
from sync.checkpoint import Checkpoint, read_status
from sync.credentials import known_secrets
from sync.errors import Interrupted, ReportError, SyncError, UsageError
from sync.models import RunSummary
from sync.paths import check_run_files, run_files
from sync.pipeline import RunResult, SoFar, run_plan, run_sync
from sync.progress import display as progress_display
from sync.registry import PLATFORMS, PROVIDERS, REGISTRY
from sync.report import write_report
from sync.sandbox.builtin import serve_builtins
from sync.settings import Resolved, Settings, resolve_settings
from sync.sources import AccountSource
from sync.sources.snapshot import passing_snapshot, reuse_snapshot, write_snapshot
from sync.verify import run_verify

T = TypeVar("T")
log = structlog.get_logger("partner-sync")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
PROBLEM_LINES = 10

provider_option = click.option(
    "--provider",
    "-p",
    required=True,
    type=click.Choice(sorted(PROVIDERS)),
    help="The platform to sync into.",
)


def _common_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("input", type=click.Path(path_type=Path), required=False),
        click.option(
            "--from",
            "source",
            type=click.Choice(sorted([*PROVIDERS, *PLATFORMS])),
            help="Migrate: read the partners of this provider's account, or of this platform "
            "(firstpromoter, partnerstack, rewardful, tapfiliate, tolt), instead of an INPUT "
            "file. Keys from their variables (e.g. PROMOTEKIT_API_KEY; REWARDFUL_API_SECRET; "
            "TOLT_API_KEY and TOLT_PROGRAM_ID; FIRSTPROMOTER_API_KEY and "
            "FIRSTPROMOTER_ACCOUNT_ID; PARTNERSTACK_PUBLIC_KEY and PARTNERSTACK_SECRET_KEY; "
            "TAPFILIATE_API_KEY and TAPFILIATE_PROGRAM_ID); without them, a built-in sandbox.",
        ),
        click.option("--from-base-url", help="API base URL of the source account."),
        click.option(
            "--from-key-env",
            help="Variable holding the source account's key (default: the source provider's).",
        ),
        click.option(
            "--from-rate-limit",
            type=float,
            help="Requests per minute for the source account (default: its provider's budget).",
        ),
        click.option(
            "--from-sandbox-seed",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="With a built-in sandbox as the source: its partners (JSON or JSONL).",
        ),
        provider_option,
        click.option(
            "--mapping",
            "-m",
            type=click.Path(path_type=Path, dir_okay=False),
            help="TOML mapping from input columns to provider fields, or the name of a built-in "
            "one (default: the provider's, see `partner-sync mappings`; none when the headers "
            "already are field names).",
        ),
        click.option(
            "--base-url",
            help="API base URL (a proxy, or a sandbox). Without it and without an API key in the "
            "environment, the run uses a built-in sandbox on this machine.",
        ),
        click.option(
            "--report",
            "-r",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Per-row report, .csv or .jsonl (default: INPUT.PROVIDER.report.csv).",
        ),
        click.option(
            "--encoding", help="Text encoding of a CSV input (default: UTF-8, or its BOM)."
        ),
        click.option(
            "--rate-limit",
            type=float,
            help="Requests per minute for the account, shared by every call: a known budget, "
            "never exceeded. Without it (or --account-plan), the provider's default budget is a "
            "starting guess: the tool adopts the limit the provider states and, while nothing "
            "is refused, raises its pace up to the provider's largest plan.",
        ),
        click.option(
            "--rate-limit-guess",
            type=click.FloatRange(min=1),
            help="Requests per minute to start from when the budget is not known "
            "(default: the provider's default budget).",
        ),
        click.option(
            "--account-plan",
            help="The account's plan, to pick the provider's budget for it (Dub: free, pro, "
            "business, advanced, enterprise).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            help="Requests in flight at most (default: what the rate limit needs).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 600),
            default=30.0,
            show_default=True,
            help="Seconds one answer may take, headers and body together, before the request "
            "counts as timed out.",
        ),
        click.option(
            "--max-wait",
            type=click.FloatRange(0),
            default=900.0,
            show_default=True,
            help="Longest pause (seconds) a provider may ask for with Retry-After; it is waited "
            "in full. A longer one stops the run with the checkpoint saved (exit 130) and names "
            "the time to run again.",
        ),
        click.option(
            "--unreachable-after",
            type=click.FloatRange(0),
            default=60.0,
            show_default=True,
            help="Seconds a provider that answered before may go without answering at all "
            "(connections refused, dropped or timing out) before the run stops with exit 5, "
            "checkpoint saved. One that never answered is given up after 3 failed connections.",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 100),
            default=12,
            show_default=True,
            help="Tries per request before a row is left `failed` for the next run.",
        ),
        click.option(
            "--sandbox-seed",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="With the built-in sandbox: partners of a new sandbox account (JSON or JSONL). "
            "The account is kept in INPUT.PROVIDER.sandbox.json; delete it to start over.",
        ),
        click.option(
            "--json-logs/--console-logs",
            default=None,
            help="Log format on stderr (default: readable on a terminal, below which each "
            "stage shows a bar with count, rate and ETA; JSON lines in a pipe).",
        ),
        click.option(
            "--invite",
            is_flag=True,
            help="Invite the missing partners instead of creating them (Partnero): each gets an "
            "email to sign up. Invitations carry email and names only; rows match by email.",
        ),
        click.option(
            "--include-status",
            metavar="STATUS[,STATUS]",
            help="Move partners with these statuses at the source too (e.g. pending,invited). "
            "By default only active partners move; the others are reported `skipped`.",
        ),
        click.option(
            "--status-column",
            metavar="COLUMN",
            help="An INPUT file's column holding each partner's status: only rows whose status is "
            "`active` (or empty) move, as in a migration.",
        ),
        click.option("--verbose", "-v", is_flag=True, help="Log every row."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="partner-sync")
def cli() -> None:
    """Import and sync affiliate partner rosters into Dub, Partnero and PromoteKit.

    Never creates a partner twice, accounts for every input row, and runs as fast as the
    provider's rate limit allows. API keys come from DUB_API_KEY, PARTNERO_API_KEY and
    PROMOTEKIT_API_KEY; without one, runs use a built-in sandbox on this machine.

    \b
    Example:
      partner-sync plan samples/roster.csv --provider dub
      partner-sync sync samples/roster.csv --provider dub --report out.csv
      partner-sync status --checkpoint samples/roster.csv.dub.checkpoint

    \b
    Exit codes: 0 all rows created or already there; 1 some rows invalid, conflicting or
    failed (see the report); 2 usage error; 3 bad input file or configuration, nothing
    written; 4 the provider refused the account; 5 the provider could not be reached
    (checkpoint saved; run again later); 130 interrupted or the provider asked for a longer
    wait than --max-wait, checkpoint saved.
    """


@cli.command()
@_common_options
def plan(**options: Any) -> None:
    """Classify every row (create, exists, conflict, duplicate, invalid) and write the report.

    Only reads reach the provider: nothing is created.

    \b
    Example:
      partner-sync plan samples/roster.csv --provider dub --report plan.csv
    """
    _run(lambda: _plan(options))


@cli.command()
@_common_options
def verify(**options: Any) -> None:
    """Check that every row is at the provider as the mapping carries it: same, differs,
    missing or skipped per row. Only reads, as cheaply as `plan`.

    `same`: the partner is there and every mapped field (and the referral code) agrees;
    `differs`: the report's field and message name each `field: row value -> provider value`;
    `missing`: no partner with the row's email or id; `skipped`: invalid, a duplicate, or
    left behind for its status. Exit 0 when no row differs or is missing, 1 otherwise.

    \b
    Example:
      partner-sync verify samples/roster.csv --provider dub --report verify.csv
      partner-sync verify --from promotekit -p dub --report verify.csv
    """
    _run(lambda: _plan(options, "verify"))


@cli.command()
@_common_options
@click.option(
    "--checkpoint",
    "-c",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Journal that makes the run resumable (default: INPUT.PROVIDER.checkpoint).",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Discard the checkpoint: its unfinished job and what it learned about the account. "
    "A damaged checkpoint is kept as CHECKPOINT.damaged and a new one started.",
)
@click.option(
    "--max-creates",
    type=click.IntRange(0),
    help="Stop before sending anything if the plan would create more partners than this.",
)
@click.option(
    "--max-invalid-share",
    type=click.FloatRange(0, 1),
    default=0.25,
    show_default=True,
    help="Stop before sending anything if a larger share of the rows is invalid, and at least "
    "10 are (a broken export); 1 turns the check off.",
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Ask the provider about every row, ignoring the partners earlier runs saw.",
)
def sync(**options: Any) -> None:
    """Create every missing partner exactly once; resumable after any interruption.

    Run the same command again after a crash, a kill or Ctrl-C: it finishes the job from the
    checkpoint, looking up any partner whose create had an unknown outcome before resending.
    One run at a time per account on this machine: a second exits 3 at once, naming the run
    that holds the account.

    \b
    Example:
      DUB_API_KEY=dub_xxx partner-sync sync roster.csv --provider dub --report out.csv
      PARTNERO_API_KEY=xxx partner-sync sync roster.csv --provider partnero --invite
    """
    _run(lambda: _sync(options))


@cli.command()
@click.option(
    "--checkpoint",
    "-c",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The checkpoint of a run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(checkpoint: Path, as_json: bool) -> None:
    """Show where a run stands: rows per state, the job it belongs to, when it was planned.

    Works while the run is going on.

    \b
    Example:
      partner-sync status --checkpoint roster.csv.dub.checkpoint
    """

    def show() -> int:
        meta, counts = read_status(checkpoint)
        binding = json.loads(meta.get("binding", "{}"))
        done = sum(n for state, n in counts.items() if state not in ("create", "sending"))
        total = sum(counts.values())
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "meta": {k: v for k, v in meta.items() if k != "binding"},
                        "job": binding,
                        "states": counts,
                        "done": done,
                        "total": total,
                    }
                )
            )
            return 0
        state = (
            "finished" if meta.get("finished_at") and done == total else "in progress or stopped"
        )
        click.echo(f"checkpoint {checkpoint}: {done}/{total} rows settled ({state})")
        if binding:
            mode = " (invitations)" if binding.get("mode") == "invite" else ""
            click.echo(f"  provider {binding.get('provider')} at {binding.get('base_url')}{mode}")
        for key in ("planned_at", "finished_at"):
            if key in meta:
                click.echo(f"  {key.replace('_', ' ')}: {meta[key]}")
        for name, count in sorted(counts.items()):
            click.echo(f"  {name:<10} {count}")
        return 0

    _run(show)


def _sandbox_rate_limits() -> str:
    """Each emulator's default limit, for the help."""
    return ", ".join(
        f"{name} {entry.emulator.default_rate_limit}" for name, entry in REGISTRY.items()
    )


@cli.command()
@click.option(
    "--provider",
    "-p",
    required=True,
    type=click.Choice(sorted([*PROVIDERS, *PLATFORMS])),
    help="The platform to emulate: a provider, or a migration source (read-only).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="Port on 127.0.0.1 to serve on; 0 picks a free one.",
)
@click.option(
    "--seed",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Partners that exist from the start (JSON array or JSON Lines). Dub records may also "
    "give `links` (their keys) and a `status` (banned, archived, pending, ...).",
)
@click.option("--latency", type=float, default=0.0, help="Seconds added to every answer.")
@click.option("--jitter", type=float, default=0.0, help="Random +/- seconds around --latency.")
@click.option(
    "--error-rate", type=float, default=0.0, help="Share of requests answered 5xx before any work."
)
@click.option(
    "--error-after-rate",
    type=float,
    default=0.0,
    help="Share of creates that commit, then answer 500.",
)
@click.option(
    "--timeout-after-rate", type=float, default=0.0, help="Share of creates that commit, then hang."
)
@click.option(
    "--drop-rate", type=float, default=0.0, help="Share of requests whose connection is dropped."
)
@click.option(
    "--burst-429-rate",
    type=float,
    default=0.0,
    help="Share of requests that start a burst of 429s.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    help="Requests per API key the sandbox allows per window of the provider (60 s; Rewardful "
    "30 s, Tolt 1 s), answering 429 beyond; 0: no limit. Default, the provider's: "
    + _sandbox_rate_limits()
    + ".",
)
@click.option(
    "--api-key",
    help="The only API key the sandbox accepts (401 for any other, so a wrong key can be "
    "tried); default: any well-formed key.",
)
@click.option(
    "--partner-limit",
    type=click.IntRange(0),
    help="Dub: the plan's cap on enrolled partners; a create beyond it is refused with Dub's "
    "403 forbidden, so that a refused account (exit 4) can be tried.",
)
@click.option(
    "--email-lookup/--no-email-lookup",
    default=True,
    show_default=True,
    help="Partnero: whether the undocumented GET /v1/partner?email= answers (without it, "
    "partner-sync reads the whole listing).",
)
def sandbox(
    provider: str,
    port: int,
    seed: Path | None,
    rate_limit: int | None,
    api_key: str | None,
    partner_limit: int | None,
    email_lookup: bool,
    **faults: float,
) -> None:
    """Serve an emulation of a provider's partner API on this machine, for trials and tests.

    Faults (each a share of requests, 0 to 1) and latency make it behave like a provider on a
    bad day; --api-key and --partner-limit make it refuse, as the provider would.

    \b
    Example:
      partner-sync sandbox -p dub --port 8787 --seed samples/dub_existing.json --latency 0.15
      DUB_API_KEY=dub_test partner-sync sync roster.csv -p dub --base-url http://127.0.0.1:8787
      partner-sync sandbox -p tapfiliate --seed samples/tapfiliate_affiliates.json --port 8788
      partner-sync sandbox -p dub --api-key dub_trial --partner-limit 20
    """
    from sync.sandbox import Faults, Sandbox, load_seed

    def serve() -> int:
        if partner_limit is not None and provider != "dub":
            raise UsageError("--partner-limit is emulated for dub only")
        fault_set = Faults(
            latency=faults["latency"],
            jitter=faults["jitter"],
            error_before=faults["error_rate"],
            error_after=faults["error_after_rate"],
            timeout_after=faults["timeout_after_rate"],
            drop=faults["drop_rate"],
            burst_429=faults["burst_429_rate"],
        )
        server = Sandbox(
            provider,
            port=port,
            seed=load_seed(seed) if seed else None,
            faults=fault_set,
            rate_limit=rate_limit,
            api_key=api_key,
            partners_limit=partner_limit,
            email_lookup=email_lookup,
        )
        server.start()
        click.echo(f"{provider} sandbox serving at {server.base_url} (Ctrl-C to stop)", err=True)
        server.serve_forever()
        return 0

    _run(serve)


@cli.group(invoke_without_command=True)
@click.pass_context
def mappings(context: click.Context) -> None:
    """List the built-in mappings: each provider's default and each migration direction.

    PROVIDER is the default of a file sync into that provider (when the file's headers are not
    already the provider's field names); SOURCE-to-TARGET is the one a migration uses. To adapt
    one, print it, edit the copy, and pass it with --mapping.

    \b
    Example:
      partner-sync mappings
      partner-sync mappings show dub > my-mapping.toml
      partner-sync sync roster.csv --provider dub --mapping my-mapping.toml
    """
    if context.invoked_subcommand is not None:
        return
    found = builtin_mappings()
    width = max((len(mapping.name) for mapping in found), default=0)
    for mapping in found:
        click.echo(f"{mapping.name:<{width}}  {mapping.description}")


@mappings.command("show")
@click.argument("name")
def show_mapping(name: str) -> None:
    """Print the built-in mapping NAME (as `partner-sync mappings` lists it), to copy and adapt.

    \b
    Example:
      partner-sync mappings show dub > my-mapping.toml
    """

    def show() -> int:
        found = builtin_mapping(name)
        if found is None:
            names = ", ".join(mapping.name for mapping in builtin_mappings())
            raise UsageError(f"there is no built-in mapping {name!r}", hint=f"known: {names}")
        click.echo(found.path.read_text(encoding="utf-8"), nl=False)
        return 0

    _run(show)


# --- running -------------------------------------------------------------------------------


def _resolve(options: dict[str, Any], *, writes: bool = False) -> Resolved:
    """The run's settings, with logging set up to hide every key they hold."""
    resolved = resolve_settings(options, writes=writes)
    logs.configure(
        secrets=resolved.secrets,
        json=options.get("json_logs"),
        verbose=bool(options.get("verbose")),
    )
    return resolved


def _read_source(
    source: AccountSource | None, snapshot: Path, progress: Any, *, reuse: bool
) -> None:
    """For a migration, write the snapshot of the source that the run reads as input."""
    if source is not None and not reuse_snapshot(snapshot, resuming=reuse):
        _run_async(write_snapshot(source, snapshot, progress))


def _plan(options: dict[str, Any], command: str = "plan") -> int:
    resolved = _resolve(options)
    settings = resolved.target
    so_far = SoFar()
    stack = contextlib.ExitStack()
    with _reported_if_stopped(so_far, settings, command), stack, progress_display() as progress:
        settings = passing_snapshot(settings, stack)
        check_run_files(run_files(settings, keeps_checkpoint=False))
        resolved = serve_builtins(replace(resolved, target=settings), stack)
        settings = resolved.target
        _read_source(resolved.source, settings.input, progress, reuse=False)
        if command == "verify":
            result = _run_async(run_verify(settings, progress))
        else:
            result = _run_async(run_plan(settings, progress, so_far))
    return _finish(result, settings, command)


def _sync(options: dict[str, Any]) -> int:
    resolved = _resolve(options, writes=True)
    settings = resolved.target
    checkpoint_path = settings.checkpoint
    assert checkpoint_path is not None
    so_far = SoFar()
    reported = _reported_if_stopped(so_far, settings, "sync", checkpoint_path)
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
        resolved = serve_builtins(resolved, opened)
        settings = resolved.target
        progress = opened.enter_context(progress_display())
        # An unfinished migration resumes from its snapshot, not from a new listing.
        unfinished = checkpoint.has_plan and not checkpoint.finished and not settings.restart
        _read_source(resolved.source, settings.input, progress, reuse=unfinished)
        try:
            result = _run_async(run_sync(settings, checkpoint, progress, so_far))
        except Interrupted:
            click.echo(
                f"interrupted: checkpoint saved at {checkpoint_path}; "
                "run the same command again to finish",
                err=True,
            )
            raise
    return _finish(result, settings, "sync", checkpoint_path)


@contextlib.contextmanager
def _reported_if_stopped(
    so_far: SoFar, settings: Settings, command: str, checkpoint: Path | None = None
) -> Iterator[None]:
    """A run stopped after reading its input still writes its whole report and summary."""
    try:
        yield
    except SyncError:
        if so_far.result is None:
            raise
        try:
            _finish(so_far.result, settings, command, checkpoint)
        except ReportError as lost:  # the stop's own error is the one to exit with
            click.echo(f"partner-sync: error: {lost}", err=True)
        _print_stop(so_far.result, command, checkpoint)
        raise


def _print_stop(result: RunResult, command: str, checkpoint: Path | None) -> None:
    pending = result.summary.counts.get("pending", 0)
    again = (
        f"run the same command again to resume from checkpoint {checkpoint}"
        if checkpoint is not None
        else "run the plan again"
    )
    click.echo(f"  stopped early: {pending} rows pending; {again}")


def _finish(
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
    _print_summary(result.summary, settings, command, checkpoint)
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


def _print_summary(
    summary: RunSummary, settings: Settings, command: str, checkpoint: Path | None
) -> None:
    rows = summary.total_rows
    counts = ", ".join(f"{name} {count}" for name, count in sorted(summary.counts.items()))
    click.echo(
        f"{command}: {rows} rows into {settings.provider.name} in {summary.elapsed:.1f}s: {counts}"
    )
    if summary.strategy is not None:
        click.echo(f"  existing partners: {summary.strategy.name} ({summary.strategy.reason})")
    calls = sum(summary.calls.values())
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.calls.items()))
    click.echo(f"  API calls: {calls}" + (f" ({detail})" if detail else ""))
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


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
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


def _run(action: Callable[[], int]) -> None:
    try:
        code = action()
    except SyncError as error:
        message = _one_line(logs.Redactor(known_secrets()).scrub(str(error)))
        click.echo(f"partner-sync: error: {message}", err=True)
        sys.exit(error.exit_code)
    sys.exit(code)


def _one_line(message: str, limit: int = 2000) -> str:
    """An error as one line of bounded length: it may quote a header or a cell of the input."""
    line = _CONTROL.sub(" ", message)
    return line if len(line) <= limit else line[:limit] + "..."


def main() -> None:
    cli(prog_name="partner-sync")
