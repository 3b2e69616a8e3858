"""Plain data shared by every stage: rows, candidates, remote partners, plan entries, outcomes.

Imports nothing from `sync`: the core stages pass these between them as plain values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the plan decided for one input row."""

    CREATE = "create"
    EXISTS = "exists"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    SKIPPED = "skipped"  # left behind by the status policy (sync.migration)


class Status(StrEnum):
    """Where one input row ended; every row ends with exactly one."""

    CREATED = "created"
    INVITED = "invited"
    EXISTS = "exists"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    FAILED = "failed"
    # A migration's partner left behind for its status at the source (sync.migration).
    SKIPPED = "skipped"
    # Only in `plan` reports: the row would be created.
    CREATE = "create"
    # Only in the report of an unfinished run: the row is still to be created.
    PENDING = "pending"
    # Only in `verify` reports: the partner at the target agrees with the row, differs from
    # it (the fields named), or is not there.
    SAME = "same"
    DIFFERS = "differs"
    MISSING = "missing"


# Statuses that make the exit code 1 ("finished, but look at these rows").
PROBLEM_STATUSES = frozenset(
    {
        Status.INVALID,
        Status.CONFLICT,
        Status.FAILED,
        Status.PENDING,
        Status.DIFFERS,
        Status.MISSING,
    }
)


# Invisible characters that copy-and-paste leaves around values: zero-width space, non-joiner and
# joiner, word joiner, and the byte-order mark (zero-width no-break space). str.strip() keeps them.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def trim(value: str) -> str:
    """`value` without whitespace (NBSP included) or invisible characters at either end."""
    value = value.strip()
    if not value or (value[0] not in INVISIBLE and value[-1] not in INVISIBLE):
        return value
    # A loop, not a regex: an anchored `[...]+$` is quadratic on a long run of spaces.
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or value[start] in INVISIBLE):
        start += 1
    while end > start and (value[end - 1].isspace() or value[end - 1] in INVISIBLE):
        end -= 1
    return value[start:end]


def email_key(email: str) -> str:
    """The form in which two emails are compared: trimmed and case-folded."""
    return trim(email).casefold()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row that passed the provider's schema: the body to send and its match keys."""

    row: int
    payload: dict[str, Any]
    email: str  # as it will be sent (trimmed)
    tenant_id: str | None

    @property
    def key(self) -> str:
        return email_key(self.email)


@dataclass(frozen=True, slots=True)
class RemotePartner:
    """A partner that exists at the provider, reduced to what matching needs."""

    id: str
    email: str | None
    tenant_id: str | None = None
    created_at: str | None = None
    # The referral codes its links carry, when the provider's answer shows them.
    codes: tuple[str, ...] = ()

    @property
    def key(self) -> str | None:
        return email_key(self.email) if self.email else None

    def describe(self, tenant_label: str = "tenantId") -> str:
        parts = [self.id]
        if self.email:
            parts.append(f"email {self.email}")
        if self.tenant_id and self.tenant_id != self.id:
            parts.append(f"{tenant_label} {self.tenant_id}")
        return " ".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if parts[1:] else "")


@dataclass(frozen=True, slots=True)
class Outcome:
    """The final word on one input row, as the report prints it."""

    row: int
    status: Status
    remote_id: str | None = None
    message: str = ""
    field: str | None = None
    email: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """The plan's decision for one row; `candidate` is set for rows that may be sent."""

    row: int
    action: Action
    candidate: Candidate | None = None
    remote_id: str | None = None
    message: str = ""
    field: str | None = None
    email: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class Strategy:
    """How existing partners were found, and why that way was cheaper."""

    name: str  # "scan", "lookup" or "none"
    reason: str
    estimated_calls: int


@dataclass(slots=True)
class RunSummary:
    """What a finished (or stopped) run did: counts per status and the calls it made."""

    counts: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    strategy: Strategy | None = None
    resumed: bool = False
    create_pace: float | None = None  # creates sent per second this run (Worker.pace)
    rate_limited: int = 0  # 429 answers received
    budget: float | None = None  # requests per minute in force at the end
    budget_learned: bool = False  # the provider stated its limit (a header) during the run
    created_earlier: int = 0  # rows reported `exists` because an earlier run created them
    source_calls: Counter[str] | None = None  # a migration's requests to its source account

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())
