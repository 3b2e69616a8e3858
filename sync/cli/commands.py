"""The commands of a run and of its checkpoint: plan, verify, sync, status; and mappings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sync.catalog import builtin_mapping, builtin_mappings
from sync.checkpoint_file import read_makers, read_status
from sync.cli.options import checkpoint_option, common_options, sync_options
from sync.cli.run import plan_command, run_command, sync_command
from sync.errors import UsageError


@click.command()
@common_options
def plan(**options: Any) -> None:
    """Classify every row (create, exists, conflict, duplicate, invalid) and write the report.

    Only reads reach the provider: nothing is created.

    \b
    Example:
      partner-sync plan samples/roster.csv --provider dub --report plan.csv
    """
    run_command(lambda: plan_command(options))


@click.command()
@common_options
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
    run_command(lambda: plan_command(options, "verify"))


@click.command()
@common_options
@sync_options
def sync(**options: Any) -> None:
    """Create every missing partner exactly once; resumable after any interruption.

    Run the same command again after a crash, a kill or Ctrl-C: it finishes the job from the
    checkpoint, looking up any partner whose create had an unknown outcome before resending.
    The summary counts as created only this run's creates; a partner an earlier run created
    (the stopped run it resumes, or a finished job run again) is reported `exists`, "created
    by an earlier run at <UTC time>". One run at a time per account on this machine: a second
    exits 3 at once, naming the run that holds the account.

    \b
    Example:
      DUB_API_KEY=dub_xxx partner-sync sync roster.csv --provider dub --report out.csv
      PARTNERO_API_KEY=xxx partner-sync sync roster.csv --provider partnero --invite
    """
    run_command(lambda: sync_command(options))


@click.command()
@checkpoint_option("The checkpoint of a run.", required=True)
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
        makers = read_makers(checkpoint)
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
                        "made_by_runs": [
                            {"state": made, "first_sent_at": when, "rows": n}
                            for made, when, n in makers
                        ],
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
        click.echo("  rows of the latest plan, by state:")
        for name, count in sorted(counts.items()):
            click.echo(f"  {name:<10} {count}")
            runs = [(when, n) for made, when, n in makers if made == name]
            if len(runs) > 1:  # a resumed job: say which run made how many
                for when, n in runs:
                    since = f"the run that first sent at {when}" if when else "an older run"
                    click.echo(f"    {n} by {since}")
        return 0

    run_command(show)


@click.group(invoke_without_command=True)
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

    run_command(show)
