"""The base of a read-only source platform's emulator: records seeded in the platform's own
shape, then only listed.

A source emulator (Rewardful, Tolt, FirstPromoter) subclasses `ReadOnlyEmulator` and writes
`_record` (a seed record to the stored record, defaults filled in) plus its routes, auth,
error bodies and rate-limit headers; the server (sync/sandbox/server.py) gives it auth
checks, rate limiting, faults, latency and stats like every other emulator. To copy it:
one module in sync/sandbox/, one line in server.py's PROVIDERS, a seed in samples/.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sync.sandbox.base import JSON, Emulator, Options, Request


class BadArgument(ValueError):
    """A query parameter the platform would refuse; its text is the platform's message."""


class ReadOnlyEmulator(Emulator):
    """Stored records in creation order, each email once; lists read them."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._rows: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._emails: set[str] = set()

    def _stored(self) -> list[dict[str, Any]]:
        return self._rows

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        email = fields.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ValueError(f"{what}: needs an email")
        if email.strip().lower() in self._emails:
            raise ValueError(f"{what}: email {email} is already a {self.record_noun}")
        record = self._record(fields, created, what)
        if str(record["id"]) in self._ids:
            raise ValueError(f"{what}: id {record['id']!r} is taken")
        self._rows.append(record)
        self._ids.add(str(record["id"]))
        self._emails.add(email.strip().lower())
        return record

    @abstractmethod
    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        """The stored record of a seed record (the platform's shape, defaults filled in)."""

    def newest_first(self) -> list[dict[str, Any]]:
        """The stored records, newest first (read under the lock)."""
        return sorted(self._rows, key=lambda row: str(row["created_at"]), reverse=True)


def int_arg(request: Request, name: str, default: int, high: int | None = None) -> int:
    """A positive integer query parameter, at most `high`.

    Raises:
        BadArgument: it is not one.
    """
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1 or (high is not None and number > high):
        bound = f"between 1 and {high}" if high is not None else "at least 1"
        raise BadArgument(f"{name} must be an integer {bound}")
    return number


def after_cursor(rows: Sequence[Mapping[str, Any]], cursor: str | None) -> list[Any]:
    """The rows after the one whose id is `cursor` (all of them without one).

    Raises:
        BadArgument: no row has that id.
    """
    if cursor is None:
        return list(rows)
    for index, row in enumerate(rows):
        if str(row["id"]) == cursor:
            return list(rows[index + 1 :])
    raise BadArgument(f"starting_after {cursor} is not a known id")
