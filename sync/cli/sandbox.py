"""`partner-sync sandbox`: an emulated provider or source platform served on this machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from sync.cli.options import FC, option_group, shown_default
from sync.cli.run import run_command
from sync.errors import UsageError
from sync.registry import PLATFORMS, PROVIDERS, REGISTRY


def _fault(name: str, help: str) -> Callable[[FC], FC]:
    """A fault option: seconds, or a share of requests; none by default."""
    return click.option(name, type=float, default=0.0, help=help)


def _sandbox_rate_limits() -> str:
    """Each emulator's default limit, for the help."""
    return ", ".join(
        f"{name} {entry.emulator.default_rate_limit}" for name, entry in REGISTRY.items()
    )


@click.command()
@click.option(
    "--provider",
    "-p",
    required=True,
    type=click.Choice(sorted([*PROVIDERS, *PLATFORMS])),
    help="The platform to emulate: a provider, or a migration source (read-only).",
)
@shown_default(
    "--port", click.IntRange(0, 65535), 8787, "Port on 127.0.0.1 to serve on; 0 picks a free one."
)
@click.option(
    "--seed",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Partners that exist from the start (JSON array or JSON Lines). Dub records may also "
    "give `links` (their keys) and a `status` (banned, archived, pending, ...).",
)
@option_group(
    *(
        _fault(name, help)
        for name, help in (
            ("--latency", "Seconds added to every answer."),
            ("--jitter", "Random +/- seconds around --latency."),
            ("--error-rate", "Share of requests answered 5xx before any work."),
            ("--error-after-rate", "Share of creates that commit, then answer 500."),
            ("--timeout-after-rate", "Share of creates that commit, then hang."),
            ("--drop-rate", "Share of requests whose connection is dropped."),
            ("--burst-429-rate", "Share of requests that start a burst of 429s."),
        )
    )
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
@shown_default(
    "--email-lookup/--no-email-lookup",
    None,
    True,
    "Partnero: whether the undocumented GET /v1/partner?email= answers (without it, "
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

    run_command(serve)
