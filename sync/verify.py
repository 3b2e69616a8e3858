"""`partner-sync verify`: is every input row at the target, as the mapping would carry it?

Only reads. The target's partners are found the way `plan` finds them (a scan or lookups,
whichever is cheaper), keeping the provider's records, and each row is matched by the plan's
rules. Per row, one status:
- `same`: the partner is there and every field the row carries (and its referral code) agrees;
- `differs`: the partner is there but fields differ (each named `field: row value -> target
  value`), or the row's keys point at partners that are not one (a conflict);
- `missing`: no partner with the row's keys;
- `skipped`: the row would not be moved (invalid, a duplicate, or its status at the source).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from sync.checked_input import CheckedInput, migration_losses, run_notes
from sync.index import ExistingPartners
from sync.models import Action, Outcome, PlanEntry, RunSummary, Status, Strategy, email_key
from sync.outcomes import Outcomes
from sync.pipeline import read_input
from sync.plan import FirstRows, split_duplicates
from sync.plan_frame import PlanFrame
from sync.planning import plan_rows, skipped_entries
from sync.progress import Progress
from sync.providers.base import Provider
from sync.providers.http import ProviderHTTP
from sync.remote import RemoteReader
from sync.run_result import RunResult, budget_of
from sync.settings import Settings
from sync.sources.account import connect, probe
from sync.validate import TENANT

Records = dict[str, Mapping[str, Any]]


async def run_verify(settings: Settings, progress: Progress | None = None) -> RunResult:
    """Compare every input row with the partner the target holds for it."""
    started = time.monotonic()
    checked = await read_input(settings, progress, hashed=False)  # it keeps no checkpoint
    rows = split_duplicates(checked.valid.keys, settings.tenant_label)
    http = connect(settings)
    try:
        await probe(settings, http)
        records, existing, strategy = await _target_records(settings, http, rows, progress)
    finally:
        await http.aclose()
    provider = settings.provider
    plan = plan_rows(checked.valid, rows, existing, settings.tenant_label)
    plan = plan.replaced(skipped_entries(checked.skipped))
    outcomes, unread = _compare_all(provider, plan, checked, records)
    summary = RunSummary(
        counts=outcomes.counts(),
        calls=http.calls,
        elapsed=time.monotonic() - started,
        strategy=strategy,
        **budget_of(http),
    )
    note = (
        f"not compared (the target does not show them): {', '.join(sorted(unread))}"
        if unread
        else None
    )
    return RunResult(
        outcomes=outcomes,
        summary=summary,
        warnings=migration_losses(settings, checked),
        notes=run_notes(checked, note),
    )


async def _target_records(
    settings: Settings, http: ProviderHTTP, rows: FirstRows, progress: Progress | None
) -> tuple[Records, ExistingPartners, Strategy]:
    """The target's records of the rows' partners, and the index of those partners, found as
    `plan` finds them."""
    reader = RemoteReader(settings.provider, http, settings.retry, settings.concurrency, progress)
    firsts = rows.firsts
    with_tenant = firsts.height - firsts[TENANT].null_count()
    strategy, count = await reader.choose(firsts.height, with_tenant)
    existing = ExistingPartners()
    if strategy.name == "scan":
        existing = await reader.scan(count, keep_records=True)
    elif strategy.name == "lookup":
        existing = await reader.look_up(list(rows.candidates()), keep_records=True)
    return reader.records, existing, strategy


def _compare_all(
    provider: Provider, plan: PlanFrame, checked: CheckedInput, records: Records
) -> tuple[Outcomes, set[str]]:
    """One verify outcome per plan entry, and the fields no record could show."""
    found = list(plan.entries(Action.EXISTS))
    payloads = {c.row: c.payload for c in checked.valid.candidates(e.row for e in found)}
    unread: set[str] = set()
    outcomes = []
    for entry in plan.entries():
        if entry.action is Action.EXISTS and entry.remote_id in records:
            record = records[entry.remote_id]
            outcome, missed = compare(provider, entry, payloads[entry.row], record)
            unread |= missed
        else:
            outcome = _unmatched(provider, entry)
        outcomes.append(outcome)
    return Outcomes.of(outcomes), unread


def compare(
    provider: Provider, entry: PlanEntry, payload: Mapping[str, Any], record: Mapping[str, Any]
) -> tuple[Outcome, set[str]]:
    """`same` or `differs` for a row whose partner is at the target; and the fields the
    record cannot show (not compared)."""
    stored = provider.readback(record)
    differing, unread = [], set()
    for path, sent in flat(payload):
        if _blank(sent):
            continue
        if path not in stored:
            unread.add(path)
            continue
        have = stored[path]
        if not _agree(path, sent, have):
            differing.append((path, f"{path}: {_shown(sent)} -> {_shown(have)}"))
    status = Status.DIFFERS if differing else Status.SAME
    return (
        _outcome(
            entry,
            status,
            "; ".join(text for _, text in differing),
            field=",".join(path for path, _ in differing) or None,
        ),
        unread,
    )


def _unmatched(provider: Provider, entry: PlanEntry) -> Outcome:
    if entry.action is Action.CREATE:
        keys = "email" + (f" or {provider.tenant_field}" if entry.tenant_id else "")
        message = f"no partner with this {keys} at {provider.name}"
        return _outcome(entry, Status.MISSING, message)
    if entry.action in (Action.CONFLICT, Action.EXISTS):
        return _outcome(entry, Status.DIFFERS, entry.message, field=entry.field)
    reason = entry.message if entry.action is Action.SKIPPED else f"{entry.action}: {entry.message}"
    return _outcome(entry, Status.SKIPPED, reason, field=entry.field)


def flat(payload: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A create body's fields as (dotted path, value)."""
    for name, value in payload.items():
        if isinstance(value, Mapping):
            yield from flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _agree(path: str, sent: Any, have: Any) -> bool:
    if isinstance(have, list) and not isinstance(sent, list):
        return str(sent) in [str(item) for item in have]  # a code among the partner's codes
    if path == "email":
        return isinstance(have, str) and email_key(str(sent)) == email_key(have)
    if isinstance(sent, list):
        return sorted(map(str, sent)) == sorted(map(str, have or []))
    if have is None:
        return False
    return str(sent).strip() == str(have).strip()


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _shown(value: Any) -> str:
    if _blank(value):
        return "(none)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _outcome(entry: PlanEntry, status: Status, message: str, field: str | None = None) -> Outcome:
    return Outcome(
        row=entry.row,
        status=status,
        remote_id=entry.remote_id,
        message=message,
        field=field,
        email=entry.email,
        tenant_id=entry.tenant_id,
    )
