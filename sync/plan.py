"""Valid rows + what exists at the provider → one decision per row (pure; no I/O).

The rules (design.md, "Matching"):
- a later row with the same email or tenant id as an earlier valid row is a `duplicate`;
- a remote partner with the row's tenant id, or with its email while the tenant ids agree or one
  side has none, means `exists`;
- the tenant id and the email pointing at two different partners, or the email belonging to a
  partner with another tenant id, is a `conflict`;
- anything else is a `create`.

The columnar planner (sync/columnar/plan.py) uses these same functions for the rows that share
keys or need more than a plain match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from sync.models import Action, Candidate, Outcome, PlanEntry, RemotePartner, email_key


@dataclass(slots=True)
class RemoteIndex:
    """Existing partners by match key; filled from a full scan or from targeted lookups."""

    by_email: dict[str, RemotePartner] = dataclass_field(default_factory=dict)
    by_tenant: dict[str, RemotePartner] = dataclass_field(default_factory=dict)
    ids: set[str] = dataclass_field(default_factory=set)
    partners: list[RemotePartner] = dataclass_field(default_factory=list)

    def add(self, partner: RemotePartner) -> None:
        if partner.id in self.ids:
            return  # a page that shifted under us repeats partners; the first sighting wins
        self.ids.add(partner.id)
        self.partners.append(partner)
        if partner.key:
            self.by_email.setdefault(partner.key, partner)
        if partner.tenant_id:
            self.by_tenant.setdefault(partner.tenant_id, partner)

    def extend(self, partners: Iterable[RemotePartner]) -> None:
        for partner in partners:
            self.add(partner)

    def __len__(self) -> int:
        return len(self.ids)


def classify(candidate: Candidate, index: RemoteIndex, tenant_label: str = "tenantId") -> PlanEntry:
    """Decide `exists`, `conflict` or `create` for one valid, first-of-its-key row.

    `tenant_label` is the provider's name for the tenant id field, for the messages.
    """
    by_tenant = index.by_tenant.get(candidate.tenant_id) if candidate.tenant_id else None
    by_email = index.by_email.get(candidate.key)
    if by_tenant and by_email and by_tenant.id != by_email.id:
        return _entry(
            candidate,
            Action.CONFLICT,
            remote_id=by_tenant.id,
            message=(
                f"{tenant_label} belongs to {by_tenant.describe(tenant_label)} but the email "
                f"belongs to {by_email.describe(tenant_label)}"
            ),
            field=tenant_label,
        )
    if by_tenant:
        return _entry(
            candidate,
            Action.EXISTS,
            remote_id=by_tenant.id,
            message=f"matched by {tenant_label}"
            + ("" if by_tenant.key == candidate.key else f" (remote email {by_tenant.email})"),
        )
    if by_email:
        if candidate.tenant_id and by_email.tenant_id and by_email.tenant_id != candidate.tenant_id:
            return _entry(
                candidate,
                Action.CONFLICT,
                remote_id=by_email.id,
                message=(
                    f"the email belongs to {by_email.describe(tenant_label)} "
                    f"with another {tenant_label}"
                ),
                field="email",
            )
        return _entry(candidate, Action.EXISTS, remote_id=by_email.id, message="matched by email")
    return _entry(candidate, Action.CREATE)


def _entry(
    candidate: Candidate,
    action: Action,
    *,
    remote_id: str | None = None,
    message: str = "",
    field: str | None = None,
) -> PlanEntry:
    return PlanEntry(
        row=candidate.row,
        action=action,
        candidate=candidate if action is Action.CREATE else None,
        remote_id=remote_id,
        message=message,
        field=field,
        email=candidate.email,
        tenant_id=candidate.tenant_id,
    )


def build_plan(
    candidates: Iterable[Candidate],
    invalid: Iterable[Outcome],
    index: RemoteIndex,
    tenant_label: str = "tenantId",
) -> list[PlanEntry]:
    """One entry per input row, in row order: invalid rows, duplicates, then matching."""
    entries: list[PlanEntry] = [
        PlanEntry(
            row=outcome.row,
            action=Action.INVALID,
            message=outcome.message,
            field=outcome.field,
            email=outcome.email,
        )
        for outcome in invalid
    ]
    firsts, duplicates = split_duplicates(candidates, tenant_label)
    entries.extend(duplicates)
    entries.extend(classify(candidate, index, tenant_label) for candidate in firsts)
    entries.sort(key=lambda entry: entry.row)
    return entries


def split_duplicates(
    candidates: Iterable[Candidate], tenant_label: str = "tenantId"
) -> tuple[list[Candidate], list[PlanEntry]]:
    """The first row of each email / tenant id, and a `duplicate` entry for every later row.

    A later row is a duplicate of the first row that has its email or, failing that, its tenant
    id; a duplicate claims neither key, so a row after it may still be a first.
    """
    firsts: list[Candidate] = []
    duplicates: list[PlanEntry] = []
    first_by_email: dict[str, int] = {}
    first_by_tenant: dict[str, int] = {}
    for candidate in candidates:
        earlier = first_by_email.get(candidate.key)
        same = "email"
        if earlier is None and candidate.tenant_id:
            earlier, same = first_by_tenant.get(candidate.tenant_id), tenant_label
        if earlier is not None:
            duplicates.append(
                PlanEntry(
                    row=candidate.row,
                    action=Action.DUPLICATE,
                    message=f"same {same} as row {earlier}",
                    email=candidate.email,
                    tenant_id=candidate.tenant_id,
                )
            )
            continue
        first_by_email[candidate.key] = candidate.row
        if candidate.tenant_id:
            first_by_tenant[candidate.tenant_id] = candidate.row
        firsts.append(candidate)
    return firsts, duplicates


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What earlier runs on this account learned: partners seen, and creates refused for cause."""

    known: Mapping[str, tuple[str | None, str]]  # email key -> (tenant id, remote id)
    refusals: Mapping[str, tuple[str, str | None, str, str]]  # digest -> (status, field, msg, at)

    def needs_check(self, candidate: Candidate) -> bool:
        """Whether the provider must be asked about this row: its email was never seen, or was
        seen with another tenant id (which may have changed since)."""
        seen = self.known.get(candidate.key)
        if seen is None:
            return True
        tenant = seen[0]
        return bool(candidate.tenant_id and tenant and tenant != candidate.tenant_id)

    def columns(self) -> tuple[list[str], list[str], list[str | None]]:
        """The partners seen as three parallel lists: ids, email keys, tenant ids."""
        known = self.known
        return (
            [remote_id for _, remote_id in known.values()],
            list(known),
            [tenant for tenant, _ in known.values()],
        )


def apply_refusals(
    entries: list[PlanEntry], knowledge: Knowledge, payloads: Mapping[int, Mapping[str, Any]]
) -> list[PlanEntry]:
    """Rows the provider refused for cause on an earlier run are not sent again, unchanged.

    `payloads` holds what each `create` row would send, by row number."""
    if not knowledge.refusals:
        return entries
    result = []
    for entry in entries:
        payload = payloads.get(entry.row) if entry.action is Action.CREATE else None
        refusal = knowledge.refusals.get(payload_digest(payload)) if payload is not None else None
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


def returned_partner_problem(candidate: Candidate, returned: RemotePartner) -> str | None:
    """Why a partner the provider returned from a create is not the one we sent, if it is not.

    Dub's POST is an upsert: given a tenantId that belongs to partner A and the email of B, it
    answers 201 with partner A. That is a conflict, not a success.
    """
    if returned.key is not None and returned.key != email_key(candidate.email):
        return (
            f"the provider returned another partner, {returned.describe()}, instead of creating one"
        )
    if candidate.tenant_id and returned.tenant_id and returned.tenant_id != candidate.tenant_id:
        return f"the provider returned {returned.describe()}, whose tenantId differs"
    return None


# Clocks of this machine and the provider's may disagree by this much without consequence.
CLOCK_TOLERANCE = 300.0


def existed_before(returned: RemotePartner, sent_at: float) -> bool:
    """Whether a partner a create returned is older than the create (an upsert that found it).

    Dub's POST answers 201 with the existing partner when the email is already enrolled; its
    `createdAt` tells the two apart. Unknown or unparsable times count as new.
    """
    if not returned.created_at:
        return False
    try:
        created = datetime.fromisoformat(returned.created_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.timestamp() < sent_at - CLOCK_TOLERANCE
