"""The base of a read-only source platform's emulator: records seeded in the platform's own
shape, then only listed.

A source emulator (PartnerStack, Tapfiliate, Rewardful, Tolt, FirstPromoter) subclasses
`ReadOnlyEmulator` and states its platform's words: `error` (the error body), `messages` (the
text of each refusal), `limit_headers` (the rate-limit headers it sends), `key_of` (where the
credential is), `_record` (a seed record to the stored record, defaults filled in) and its
routes, which page with `int_arg`, `page_of` and `after_cursor`. The base answers auth, 404s,
5xx and 429s from those; the server (sync/sandbox/server.py) adds rate limiting, faults,
latency and stats like every other emulator's. To copy it: one module in sync/sandbox/, its
line in sync/registry.py, a seed in samples/.
"""

from __future__ import annotations

import base64
import binascii
import copy
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sync.sandbox.base import JSON, Emulator, Options, Reply, Request, positive_int


class BadArgument(ValueError):
    """A query parameter the platform would refuse; its text is the platform's message."""


class ReadOnlyEmulator(Emulator):
    """Stored records in creation order, each id and each email once; lists read them."""

    # The field that identifies a record (and that a cursor names).
    id_field: ClassVar[str] = "id"
    # The platform's text for each refusal it answers, by status (401, 404, 429, 500; a 5xx
    # without its own text has 500's).
    messages: ClassVar[Mapping[int, str]]
    # Rate-limit headers (header -> unit, see sync/sandbox/base.py) on every answer, and the
    # ones a 429 adds.
    limit_headers: ClassVar[Mapping[str, str]] = {}
    refusal_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._rows: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}  # trimmed and lower-cased

    @abstractmethod
    def error(self, status: int, text: str) -> Reply:
        """The platform's error answer of `status` saying `text`."""

    # --- protocol -------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Reply | None:
        if not self.token_accepted(self.key_of(request)):
            return self.error(401, self.messages[401])
        return None

    def server_error(self, status: int) -> Reply:
        return self.error(status, self.messages.get(status, self.messages[500]))

    def unknown_route(self, request: Request) -> Reply:
        return self.error(404, self.messages[404])

    def too_many_requests(self) -> Reply:
        return self.error(429, self.messages[429])

    def limit_header_units(self, status: int, template: str) -> dict[str, str]:
        units = dict(self.limit_headers)
        if status == 429:
            units.update(self.refusal_headers)
        return units

    # --- state ----------------------------------------------------------------------------

    def _stored(self) -> list[dict[str, Any]]:
        return self._rows

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        email = fields.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ValueError(f"{what}: needs an email")
        if email.strip().lower() in self._by_email:
            raise ValueError(f"{what}: email {email} is another {self.record_noun}'s")
        record = self._record(fields, created, what)
        identifier = str(record[self.id_field])
        if identifier in self._by_id:
            raise ValueError(f"{what}: {self.id_field} {record[self.id_field]!r} is taken")
        self._added(record, fields, what)  # first: a bad link refuses the record, stores nothing
        self._rows.append(record)
        self._by_id[identifier] = record
        self._by_email[email.strip().lower()] = record
        return record

    @abstractmethod
    def _record(self, fields: Mapping[str, JSON], created: datetime, what: str) -> dict[str, Any]:
        """The stored record of a seed record (the platform's shape, defaults filled in)."""

    def _added(self, record: Mapping[str, Any], fields: Mapping[str, JSON], what: str) -> None:
        """Keep what the platform stores beside a new record (its links, its programs); a
        ValueError refuses the record."""

    def newest_first(self) -> list[dict[str, Any]]:
        """The stored records, newest first (read under the lock)."""
        return sorted(self._rows, key=lambda row: str(row["created_at"]), reverse=True)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic` header, or None if malformed."""
    value = request.header("Authorization") or ""
    if not value.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(value[len("Basic ") :].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def int_arg(request: Request, name: str, default: int, high: int | None = None) -> int:
    """A positive integer query parameter, at most `high`.

    Raises:
        BadArgument: it is not one.
    """
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return positive_int(raw, name, high)
    except ValueError as exc:
        raise BadArgument(str(exc)) from None


def page_of(rows: Sequence[Any], page: int, size: int) -> list[Any]:
    """A copy of page `page` (1-based) of `size` rows: empty past the last."""
    return copy.deepcopy(list(rows[(page - 1) * size : page * size]))


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
