"""What earlier runs on an account learned, as the checkpoint keeps it (plain data, no I/O).

- The partners they saw, by email key: they feed the index of existing partners (sync/index.py),
  so that a nightly run asks the provider only about rows it has not seen.
- The creates the provider refused for cause (invalid, conflict), by the digest of what the row
  sent: a row that would send the same again is decided as the provider did, a corrected one is
  sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.models import Action, PlanEntry

# Partners seen, by email key: (tenant id, remote id).
Remembered = Mapping[str, tuple[str | None, str]]
# Refusals by payload digest: (status, field, message, when).
Refusals = Mapping[str, tuple[str, str | None, str, str]]


@dataclass(frozen=True, slots=True)
class EarlierRuns:
    """What earlier runs on this account learned: the partners they saw, and the creates the
    provider refused for cause."""

    partners: Remembered
    refusals: Refusals


def apply_refusals(
    entries: list[PlanEntry], refusals: Refusals, payloads: Mapping[int, Mapping[str, Any]]
) -> list[PlanEntry]:
    """These `create` entries, with the rows refused for cause on an earlier run decided so.

    `payloads` holds what each row would send, by row number."""
    if not refusals:
        return entries
    result = []
    for entry in entries:
        payload = payloads.get(entry.row) if entry.action is Action.CREATE else None
        refusal = refusals.get(payload_digest(payload)) if payload is not None else None
        if refusal is None:
            result.append(entry)
            continue
        status, field, message, at = refusal
        result.append(
            PlanEntry(
                row=entry.row,
                action=Action(status),
                message=f"{message} (refused on {at}; not sent again until the row changes)",
                field=field,
                email=entry.email,
                tenant_id=entry.tenant_id,
            )
        )
    return result


def payload_digest(payload: Mapping[str, Any]) -> str:
    """A stable hash of what a row would send, passwords left out (a hash of one is a secret)."""
    visible = {key: value for key, value in payload.items() if key != "password"}
    return hashlib.sha256(json.dumps(visible, sort_keys=True, default=str).encode()).hexdigest()
