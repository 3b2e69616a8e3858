"""PartnerStack (Vendor API v2) as a migration source: partnerships and their referral codes.

Reading costs `pages + partners` calls: the partnerships listing (cursor paging, 100 a page),
then one `GET /links/partnership/{email}` per partner, since a partnership does not carry its
links. Every partner's code is read, the inactive ones' too, so that a run that moves chosen
statuses anyway, and `verify`, have the code the partner's links carry.

Assumptions where sources.md says UNCERTAIN (the sandbox emulator makes the same ones):
- the Vendor API takes `limit=100` (Dub's importer uses it; the Partner API allows 1-250);
- a partnership states its approval in `approved_status`; a record without it is looked up in a
  second listing filtered by `approved_status=approved` (the filter Dub's importer uses), and
  is "not approved" when absent from it, so either answer works;
- the links identifier is the partner's email (what Dub sends); a 404 there means the partner
  has no links, and the partner moves without a code;
- a partner's code is the last path segment of its first link's `url` (Dub's rule);
- the rate limit is unpublished: DEFAULT_RATE_LIMIT is a cautious start, raised while nothing
  is refused and cut by the first 429 (sync/ratelimit.py).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import structlog

from sync.errors import ProviderError, RejectedError
from sync.neutral import neutral_row, tags_text
from sync.providers.countries import country_code
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries
from sync.sources.platform import PlatformSource

log = structlog.get_logger(__name__)

NAME = "partnerstack"
DEFAULT_BASE_URL = "https://api.partnerstack.com/api/v2"
PUBLIC_KEY_ENV = "PARTNERSTACK_PUBLIC_KEY"
SECRET_KEY_ENV = "PARTNERSTACK_SECRET_KEY"  # noqa: S105 - the variable's name, not a key
PAGE_LIMIT = 100
# Unpublished. Dub's importer spaces its per-partner link calls 100 ms apart (at most 600 a
# minute) in production; a fifth of that is a start no account should refuse.
DEFAULT_RATE_LIMIT = 120
APPROVED = "approved"
NOT_APPROVED = "not approved"  # the status of a partner missing from the approved listing

UNPORTABLE = {
    "customers": "customers and their attribution stay at PartnerStack",
    "commissions": "rewards (commissions) and payouts are PartnerStack's records",
    "groups": "partner groups are not created at the target",
    "links": "links change with the platform; the code in each partner's first link is carried",
}


def auth_headers(public_key: str, secret_key: str) -> dict[str, str]:
    """Basic auth with the public key as the user and the secret key as the password."""
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def error_message(status: int, body: Any) -> str:
    """PartnerStack's `{message, status}` error body in one line."""
    message = body.get("message") if isinstance(body, Mapping) else None
    return message if isinstance(message, str) else f"HTTP {status}"


# --- records -> neutral rows (pure) ------------------------------------------------------


def code_from_links(links: Sequence[Mapping[str, Any]]) -> str | None:
    """The referral code of a partner's links: the last path segment of the first `url`."""
    for link in links:
        url = link.get("url")
        if isinstance(url, str) and url.strip():
            segments = [part for part in urlsplit(url.strip()).path.split("/") if part]
            return unquote(segments[-1]) if segments else None
    return None


def status_of(record: Mapping[str, Any], approved_keys: frozenset[str] | None) -> str:
    """`active` for an approved partnership, else its own approval word.

    Args:
        record: one partnership.
        approved_keys: keys of the approved listing, when the records do not say.
    """
    stated = record.get("approved_status")
    if isinstance(stated, str) and stated.strip():
        word = stated.strip().lower()
        return "active" if word == APPROVED else word
    if approved_keys is not None and record.get("key") in approved_keys:
        return "active"
    return NOT_APPROVED


def epoch_ms_to_iso(value: object) -> str | None:
    """PartnerStack's epoch-millisecond timestamps as ISO-8601 UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / 1000, UTC).isoformat().replace("+00:00", "Z")


def to_neutral(
    record: Mapping[str, Any], code: str | None, approved_keys: frozenset[str] | None = None
) -> dict[str, str | None]:
    """One partnership, with the code of its links, as a provider-neutral row."""
    address = record.get("address")
    country = address.get("country") if isinstance(address, Mapping) else None
    tags = record.get("tags")
    return neutral_row(
        source_id=record.get("key"),
        email=record.get("email"),
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        country=country_code(country) if isinstance(country, str) else None,
        tags=tags_text(tags) if isinstance(tags, list) else None,
        referral_code=code,
        status=status_of(record, approved_keys),
        created_at=epoch_ms_to_iso(record.get("created_at")),
    )


# --- paging ------------------------------------------------------------------------------


class CursorPager:
    """Follows `starting_after` cursors to the end, and refuses a listing that never ends.

    A cursor seen before, or a page whose partners were all read already, means the server
    sends the same page again: reading on would never finish.
    """

    def __init__(self) -> None:
        self.cursor: str | None = None
        self.finished = False
        self.pages = 0
        self._cursors: set[str] = set()
        self._keys: set[str] = set()

    def advance(self, body: Any) -> list[Mapping[str, Any]]:
        """Take one answer; return its new partnerships and move the cursor past them."""
        items, has_more = _page_items(body)
        self.pages += 1
        fresh = [item for item in items if item["key"] not in self._keys]
        if items and not fresh:
            raise ProviderError(
                f"{NAME}: page {self.pages} of the partnerships repeats partners already read "
                "(the listing would never end); nothing was moved",
            )
        self._keys.update(item["key"] for item in fresh)
        # An empty page ends the listing whatever `has_more` says (Dub's importer stops there).
        if not has_more or not items:
            self.finished = True
            return fresh
        cursor = items[-1]["key"]
        if cursor in self._cursors:
            raise ProviderError(
                f"{NAME}: the partnerships listing sent cursor {cursor} twice (it would never "
                "end); nothing was moved"
            )
        self._cursors.add(cursor)
        self.cursor = cursor
        return fresh


def _page_items(body: Any) -> tuple[list[Mapping[str, Any]], bool]:
    data = body.get("data") if isinstance(body, Mapping) else None
    items = data.get("items") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not all(
        isinstance(item, Mapping) and isinstance(item.get("key"), str) for item in items
    ):
        raise ProviderError(
            f"{NAME}: unexpected answer to GET /partnerships (not the documented "
            "{data:{has_more, items}} shape)"
        )
    return items, bool(data.get("has_more")) if isinstance(data, Mapping) else False


# --- reading -----------------------------------------------------------------------------


async def read_partnerships(
    http: ProviderHTTP, policy: RetryPolicy, **filters: str
) -> list[Mapping[str, Any]]:
    """Every partnership (matching `filters`), oldest first, each once."""
    pager = CursorPager()
    records: list[Mapping[str, Any]] = []
    while not pager.finished:
        params: dict[str, str | int] = {"limit": PAGE_LIMIT, **filters}
        if pager.cursor is not None:
            params["starting_after"] = pager.cursor

        async def page(params: Mapping[str, str | int] = params) -> Any:
            return await http.request("GET", "/partnerships", params=params, kind="list")

        records.extend(pager.advance(await call_with_retries(page, policy=policy, write=False)))
    return records


async def read_code(http: ProviderHTTP, policy: RetryPolicy, email: str) -> str | None:
    """The referral code of one partner's links (one call); None when it has none."""
    path = f"/links/partnership/{quote(email.strip(), safe='@')}"

    async def links() -> Any:
        return await http.request("GET", path, kind="links")

    try:
        body = await call_with_retries(links, policy=policy, write=False)
    except RejectedError as error:
        if error.status != 404:
            raise
        return None
    data = body.get("data") if isinstance(body, Mapping) else None
    items = data.get("items") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise ProviderError(f"{NAME}: unexpected answer to GET /links/partnership/...")
    return code_from_links([item for item in items if isinstance(item, Mapping)])


async def read_codes(
    http: ProviderHTTP, policy: RetryPolicy, records: Iterable[Mapping[str, Any]], concurrency: int
) -> dict[str, str | None]:
    """Each partnership's code by key, `concurrency` calls at a time under the shared budget."""
    gate = asyncio.Semaphore(max(concurrency, 1))
    codes: dict[str, str | None] = {}

    async def one(record: Mapping[str, Any]) -> None:
        email = record.get("email")
        if not isinstance(email, str) or not email.strip():
            codes[record["key"]] = None  # no identifier to ask with; the row is invalid anyway
            return
        async with gate:
            codes[record["key"]] = await read_code(http, policy, email)

    await asyncio.gather(*(one(record) for record in records))
    return codes


async def read_roster(
    http: ProviderHTTP, policy: RetryPolicy, concurrency: int
) -> list[dict[str, str | None]]:
    """Every partnership as a neutral row, with its code and its status."""
    records = await read_partnerships(http, policy)
    approved: frozenset[str] | None = None
    if any(not record.get("approved_status") for record in records):
        listed = await read_partnerships(http, policy, approved_status=APPROVED)
        approved = frozenset(str(record["key"]) for record in listed)
    codes = await read_codes(http, policy, records, concurrency)
    missing = sum(1 for code in codes.values() if code is None)
    if missing:
        log.warning("partners without a referral link at the source", partners=missing)
    return [to_neutral(record, codes[record["key"]], approved) for record in records]


SOURCE = PlatformSource.stated_in(
    __name__,
    env_keys=(PUBLIC_KEY_ENV, SECRET_KEY_ENV),
    secret_env_keys=(PUBLIC_KEY_ENV, SECRET_KEY_ENV),
    sample_seed="partnerstack_partners.json",
    sandbox_key_parts=(PUBLIC_KEY_ENV, SECRET_KEY_ENV),  # the emulator's `public:secret`
    auth_headers=lambda credentials: auth_headers(
        credentials[PUBLIC_KEY_ENV], credentials[SECRET_KEY_ENV]
    ),
    read=lambda client, credentials, reading: read_roster(
        client.http, reading.retry, reading.concurrency
    ),
)
