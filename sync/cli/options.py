"""The options `plan`, `verify` and `sync` share: where rows come from, where they go, how fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sync.registry import PLATFORMS, PROVIDERS

FC = TypeVar("FC", bound=Callable[..., Any])

provider_option = click.option(
    "--provider",
    "-p",
    required=True,
    type=click.Choice(sorted(PROVIDERS)),
    help="The platform to sync into.",
)


def shown_default(name: str, kind: Any, default: object, help: str) -> Callable[[FC], FC]:
    """An option whose default the help shows."""
    return click.option(name, type=kind, default=default, show_default=True, help=help)


def option_group(*options: Callable[[FC], FC]) -> Callable[[FC], FC]:
    """One decorator for these click decorators, applied so that --help lists them in order."""

    def apply(function: FC) -> FC:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


# Where the rows come from: an INPUT file, or a migration's source account.
SOURCE_OPTIONS = (
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
)


# Where they go: the provider, the mapping into its fields, its URL, the report.
TARGET_OPTIONS = (
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
    click.option("--encoding", help="Text encoding of a CSV input (default: UTF-8, or its BOM)."),
)


# How fast and how patiently the account is spoken to.
BUDGET_OPTIONS = (
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
    shown_default(
        "--timeout",
        click.FloatRange(0.1, 600),
        30.0,
        "Seconds one answer may take, headers and body together, before the request "
        "counts as timed out.",
    ),
    shown_default(
        "--max-wait",
        click.FloatRange(0),
        900.0,
        "Longest pause (seconds) a provider may ask for with Retry-After; it is waited "
        "in full. A longer one stops the run with the checkpoint saved (exit 130) and names "
        "the time to run again.",
    ),
    shown_default(
        "--unreachable-after",
        click.FloatRange(0),
        60.0,
        "Seconds a provider that answered before may go without answering at all "
        "(connections refused, dropped or timing out) before the run stops with exit 5, "
        "checkpoint saved. One that never answered is given up after 3 failed connections.",
    ),
)


# The built-in sandbox's seed, the logs, invitations and who moves.
RUN_OPTIONS = (
    shown_default(
        "--max-attempts",
        click.IntRange(1, 100),
        12,
        "Tries per request before a row is left `failed` for the next run.",
    ),
    click.option(
        "--sandbox-seed",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help="With the built-in sandbox: partners of a new sandbox account (JSON or JSONL). "
        "A sync keeps the account in INPUT.PROVIDER.sandbox.json (plan and verify read it, and "
        "never write it); delete it to start over.",
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
)

# What `plan`, `verify` and `sync` all take.
common_options = option_group(*SOURCE_OPTIONS, *TARGET_OPTIONS, *BUDGET_OPTIONS, *RUN_OPTIONS)


def checkpoint_option(help: str, *, required: bool = False) -> Callable[[FC], FC]:
    """--checkpoint: a run's journal."""
    return click.option(
        "--checkpoint",
        "-c",
        required=required,
        type=click.Path(path_type=Path, dir_okay=False),
        help=help,
    )


# What only `sync` takes: its checkpoint, and the guards of an unattended run.
SYNC_OPTIONS = (
    checkpoint_option("Journal that makes the run resumable (default: INPUT.PROVIDER.checkpoint)."),
    click.option(
        "--restart",
        is_flag=True,
        help="Discard the checkpoint: its unfinished job and what it learned about the account. "
        "A damaged checkpoint is kept as CHECKPOINT.damaged and a new one started.",
    ),
    click.option(
        "--max-creates",
        type=click.IntRange(0),
        help="Stop before sending anything if the plan would create more partners than this.",
    ),
    shown_default(
        "--max-invalid-share",
        click.FloatRange(0, 1),
        0.25,
        "Stop before sending anything if a larger share of the rows is invalid, and at least "
        "10 are (a broken export); 1 turns the check off.",
    ),
    click.option(
        "--recheck",
        is_flag=True,
        help="Ask the provider about every row, ignoring the partners earlier runs saw.",
    ),
)
sync_options = option_group(*SYNC_OPTIONS)
