"""What every provider emulator shares: requests, replies, routes and the emulator contract."""

from __future__ import annotations

import copy
import json
import math
import random
import re
import string
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

from sync.sandbox.ratelimit import Limiter, SlidingWindowLog

JSON = Any
"""A decoded JSON value; the emulators check shapes at run time, as the real APIs do."""

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Request:
    """One HTTP request as the emulators see it: path relative to the provider's base path."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        """The first value of query parameter `name`, or None when absent."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Reply:
    """One HTTP response before faults and latency are applied to it."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    committed: bool = False  # the request changed stored state

    @property
    def is_json_success(self) -> bool:
        return 200 <= self.status < 300 and self.content_type == "application/json"


def json_reply(
    status: int,
    payload: JSON,
    *,
    headers: dict[str, str] | None = None,
    committed: bool = False,
) -> Reply:
    """A JSON reply, compact as the real APIs send it."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(status, body, headers=dict(headers or {}), committed=committed)


Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    """A documented route: its method, its template (as stats report it) and its handler."""

    method: str
    template: str
    handler: Handler
    write: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(template)
    if pattern is None:
        parts = re.split(r"(\{\w+\})", template)
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in parts
        )
        pattern = _PATTERNS[template] = re.compile(f"^{regex}$")
    return pattern


def match_route(
    routes: Sequence[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | None:
    """The first route whose method and template match, with its decoded path parameters."""
    for route in routes:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found:
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


@dataclass(frozen=True)
class LimitInfo:
    """Where a key stands in its rate-limit window, for the X-RateLimit-* headers."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the window resets (the end of the fixed window)
    now: float  # epoch seconds when the request was counted


# Units a rate-limit header can carry its value in.
LIMIT = "limit"
REMAINING = "remaining"
SECONDS = "seconds"
EPOCH_SECONDS = "epoch-seconds"
EPOCH_MS = "epoch-ms"
TIME_UNITS = (SECONDS, EPOCH_SECONDS, EPOCH_MS)


def header_value(unit: str, info: LimitInfo) -> str:
    """Render one rate-limit header value in `unit`."""
    if unit == LIMIT:
        return str(info.limit)
    if unit == REMAINING:
        return str(max(0, info.remaining))
    if unit == SECONDS:
        return str(max(0, math.ceil(info.reset_at - info.now)))
    if unit == EPOCH_SECONDS:
        return str(math.ceil(info.reset_at))
    if unit == EPOCH_MS:
        return str(math.ceil(info.reset_at * 1000))
    raise ValueError(f"unknown rate-limit header unit {unit!r}")


def utc_iso(moment: datetime, *, digits: int) -> str:
    """An ISO-8601 UTC timestamp ending in Z, with `digits` fractional-second digits."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (a trailing Z allowed); naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def created_at_of(fields: Mapping[str, JSON], name: str, created: datetime, what: str) -> datetime:
    """The creation time a seed record gives in `name`, or `created` when it gives none."""
    stamp = fields.get(name)
    if stamp is None:
        return created
    if not isinstance(stamp, str):
        raise ValueError(f"{what}: {name} must be an ISO-8601 string")
    try:
        return parse_iso(stamp)
    except ValueError as exc:
        raise ValueError(f"{what}: {name} {stamp!r} is not ISO-8601") from exc


def random_id(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None if malformed or absent."""
    value = request.header("Authorization")
    if value is None or not value.startswith("Bearer "):
        return None
    token = value[len("Bearer ") :].strip()
    return token or None


@dataclass(frozen=True)
class Options:
    """Per-sandbox settings an emulator needs; unknown to the ones that do not use them."""

    api_key: str | None = None
    partners_limit: int | None = None
    email_lookup: bool = True
    rng_seed: int = 0
    # Dub's partner groups besides the default one: {"id": "grp_…", "slug": …, "programId": …}.
    groups: tuple[Mapping[str, Any], ...] = ()


class Emulator(ABC):
    """One provider's partner API: routes, auth, error shapes, rate-limit headers and state."""

    name: ClassVar[str]
    base_path: ClassVar[str] = ""
    default_rate_limit: ClassVar[int]
    default_window: ClassVar[float] = 60.0  # seconds that default_rate_limit is counted over

    def __init__(self, options: Options) -> None:
        self.options = options
        self.lock = threading.Lock()  # guards state changes; never held while sleeping
        # Identifiers and tie orders come from here; seeded so that runs are reproducible.
        self.rng = random.Random(options.rng_seed)
        self.base_url = ""

    @property
    @abstractmethod
    def routes(self) -> Sequence[Route]:
        """The documented routes, most specific first."""

    @abstractmethod
    def authenticate(self, request: Request) -> Reply | None:
        """An error reply when the request's credentials are refused, else None."""

    @abstractmethod
    def server_error(self, status: int) -> Reply:
        """The provider's body for a 5xx answered by its own servers."""

    @abstractmethod
    def unknown_route(self, request: Request) -> Reply:
        """The provider's 404 for a path it does not serve."""

    @abstractmethod
    def too_many_requests(self) -> Reply:
        """The provider's 429 body, without headers."""

    @abstractmethod
    def limit_header_units(self, status: int, template: str) -> dict[str, str]:
        """Rate-limit headers the provider adds to a reply of `status` from the route of
        `template` (header -> unit)."""

    # --- state ----------------------------------------------------------------------------

    record_noun: ClassVar[str] = "partner"  # what the provider calls a partner, for messages

    def seed(self, records: Sequence[Mapping[str, JSON]]) -> None:
        """Store records given in the create-body shape; raises ValueError on a bad one."""
        # Seeded partners predate the run, one second apart, unless the seed says when.
        base = datetime.now(UTC) - timedelta(days=1, seconds=len(records))
        with self.lock:
            for index, fields in enumerate(records):
                created = base + timedelta(seconds=index)
                self._insert_lenient(fields, created, f"seed record {index}")

    def partners(self) -> list[dict[str, JSON]]:
        """A snapshot of the stored partners in the provider's response shape."""
        with self.lock:
            return copy.deepcopy(self._stored())

    def stored_partners(self) -> list[dict[str, JSON]]:
        """The stored partners as seed records that recreate them as they are."""
        with self.lock:
            return [self._seed_fields(record) for record in copy.deepcopy(self._stored())]

    def _seed_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record as a seed record; the response shape already is one, but where a
        provider shows a field otherwise than it takes it (a code inside a link)."""
        return record

    def add_partner(self, fields: Mapping[str, JSON]) -> dict[str, JSON]:
        """Insert a partner as the provider's own UI would; returns the stored record."""
        with self.lock:
            record = self._insert_lenient(fields, self._created_now(), self.record_noun)
            return copy.deepcopy(record)

    @abstractmethod
    def _stored(self) -> list[dict[str, Any]]:
        """The stored records, in creation order (read under the lock)."""

    @abstractmethod
    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        """Store one record given in the create-body shape (held lock); ValueError if bad."""

    def _created_now(self) -> datetime:
        return datetime.now(UTC)

    def make_limiter(self, limit: int, window: float) -> Limiter:
        """How the provider counts its budget of `limit` requests per `window` seconds."""
        return SlidingWindowLog(limit, window)

    def key_of(self, request: Request) -> str | None:
        """The credential a rate-limit window is counted against."""
        return bearer_token(request)

    def token_accepted(self, token: str | None) -> bool:
        if token is None:
            return False
        return self.options.api_key is None or token == self.options.api_key


def positive_int(raw: str, name: str, high: int | None = None) -> int:
    """A query parameter's text as a positive integer, at most `high` (surrounding white space
    allowed, as int() allows it).

    Raises:
        ValueError: it is not one; the message says what `name` must be.
    """
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1 or (high is not None and number > high):
        bound = f"between 1 and {high}" if high is not None else "at least 1"
        raise ValueError(f"{name} must be an integer {bound}")
    return number
