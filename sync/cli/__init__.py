"""The command line: click commands only (parse, call the library, print, exit). This package
is the only part of partner-sync that prints to stdout or exits."""

from __future__ import annotations

import click

from sync.cli.commands import mappings, plan, status, sync, verify
from sync.cli.sandbox import sandbox


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


for command in (plan, verify, sync, status, sandbox, mappings):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="partner-sync")
