"""Tapfiliate (REST API 1.6) as a migration source: one program's affiliates and their codes.

Reading costs the pages of two listings, 25 items a page: the program's affiliations
(`GET /programs/{id}/affiliates/`: approval, coupon and the referral link, whose `?ref=` value is
the code) and the account's affiliates (`GET /affiliates/`: country and sign-up time). They are
joined by affiliate id; an affiliate of the account that is not in the program is reported with
the status "not in program".

Assumptions where sources.md says UNCERTAIN (the sandbox emulator makes the same ones):
- the code is the per-program `ref` parameter of `referral_link`, which is an object with a
  `link` (a plain URL string is read the same way); a link without `ref` (a program that uses
  `tap_a`/`tap_s` parameters instead) leaves the partner without a code. Dub's importer uses the
  affiliate id instead, which differs once a code was edited;
- `approved` true is active, false is "not approved", null is "pending";
- the page size is fixed at 25 (no `limit` is sent); the listing ends where the `Link` header
  has no `rel="next"`, or, when the header is absent, at a page shorter than 25 or empty;
- the rate limit is unpublished: DEFAULT_RATE_LIMIT is a cautious start, raised while nothing
  is refused and cut by the first 429 or a stated `X-Ratelimit-Limit` (sync/ratelimit.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sync.errors import ProviderError
from sync.neutral import neutral_row
from sync.providers.countries import country_code
from sync.providers.http import Answer, ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries
from sync.sources.platform import PlatformSource

NAME = "tapfiliate"
DEFAULT_BASE_URL = "https://api.tapfiliate.com/1.6"
API_KEY_ENV = "TAPFILIATE_API_KEY"
PROGRAM_ID_ENV = "TAPFILIATE_PROGRAM_ID"
PAGE_SIZE = 25
# Unpublished. Two listings of 25 a page need few calls: a slow, steady start costs little
# and stays clear of a limit nobody has published.
DEFAULT_RATE_LIMIT = 60
NOT_IN_PROGRAM = "not in program"

UNPORTABLE = {
    "customers": "customers and conversions stay at Tapfiliate",
    "commissions": "commissions and payments are Tapfiliate's records",
    "groups": "affiliate groups and MLM parents are not created at the target",
    "payout_email": "payout methods are a separate call per affiliate and are not read",
    "links": "links change with the platform; the program's ?ref= code is carried",
}

_REL = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?', re.IGNORECASE)


def auth_headers(api_key: str) -> dict[str, str]:
    return {"X-Api-Key": api_key}


def error_message(status: int, body: Any) -> str:
    """Tapfiliate's `{"message": ...}` error body in one line."""
    message = body.get("message") if isinstance(body, Mapping) else None
    return message if isinstance(message, str) else f"HTTP {status}"


def affiliations_path(program_id: str) -> str:
    return f"/programs/{quote(program_id, safe='')}/affiliates/"


# --- records -> neutral rows (pure) ------------------------------------------------------


def code_from_link(referral_link: object) -> str | None:
    """The `ref` value of a referral link, given as `{link: URL}` or as the URL itself."""
    url = referral_link.get("link") if isinstance(referral_link, Mapping) else referral_link
    if not isinstance(url, str) or not url.strip():
        return None
    values = parse_qs(urlsplit(url.strip()).query).get("ref")
    return values[0] if values and values[0] else None


def status_of(affiliation: Mapping[str, Any] | None) -> str:
    """`active` for an affiliate approved in the program, else what it is there."""
    if affiliation is None:
        return NOT_IN_PROGRAM
    approved = affiliation.get("approved")
    if approved is True:
        return "active"
    return "pending" if approved is None else "not approved"


def to_neutral(
    affiliate: Mapping[str, Any], affiliation: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """One affiliate, with its place in the program (None: not in it), as a neutral row."""
    address = affiliate.get("address")
    country = address.get("country") if isinstance(address, Mapping) else None
    code = country.get("code") if isinstance(country, Mapping) else None
    coupon = affiliation.get("coupon") if affiliation else None
    return neutral_row(
        source_id=affiliate.get("id"),
        email=affiliate.get("email"),
        first_name=affiliate.get("firstname"),
        last_name=affiliate.get("lastname"),
        country=country_code(code) if isinstance(code, str) else None,
        referral_code=code_from_link(affiliation.get("referral_link")) if affiliation else None,
        promo_code=coupon if isinstance(coupon, str) else None,
        status=status_of(affiliation),
        created_at=affiliate.get("created_at"),
    )


def join(
    affiliates: Sequence[Mapping[str, Any]], affiliations: Sequence[Mapping[str, Any]]
) -> list[dict[str, str | None]]:
    """Neutral rows of the account's affiliates, each with its place in the program.

    An affiliation whose affiliate the account listing lacks (added between the two reads)
    still moves, with the fields the affiliation carries.
    """
    by_id: dict[str, Mapping[str, Any]] = {}
    for affiliation in affiliations:
        embedded = affiliation.get("affiliate")
        if isinstance(embedded, Mapping) and isinstance(embedded.get("id"), str):
            by_id.setdefault(embedded["id"], affiliation)
    rows = [to_neutral(affiliate, by_id.pop(affiliate["id"], None)) for affiliate in affiliates]
    rows.extend(to_neutral(affiliation["affiliate"], affiliation) for affiliation in by_id.values())
    return rows


# --- paging ------------------------------------------------------------------------------


def next_page(link_header: str | None) -> int | None:
    """The `page` number of the `rel="next"` URL of a Link header, or None when there is none."""
    for url, rel in _REL.findall(link_header or ""):
        if rel.lower() == "next":
            pages = parse_qs(urlsplit(url).query).get("page")
            try:
                return int(pages[0]) if pages else None
            except ValueError:
                return None
    return None


class PagePager:
    """Follows `?page=` to the end of one listing, and refuses a listing that never ends.

    A `next` link that does not point past the page just read, or a page whose items were all
    read already, means the server sends the same page again: reading on would never finish.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.page = 1
        self.finished = False
        self._ids: set[str] = set()

    def advance(self, body: Any, link_header: str | None) -> list[Mapping[str, Any]]:
        """Take the answer to `self.page`; return its new items and move to the next page."""
        items = _items(body, self.what, self.page)
        fresh = [item for item in items if _item_id(item) not in self._ids]
        if items and not fresh:
            raise ProviderError(
                f"{NAME}: page {self.page} of {self.what} repeats items already read (the "
                "listing would never end); nothing was moved"
            )
        self._ids.update(_item_id(item) for item in fresh)
        if link_header is not None:
            following = next_page(link_header)
            if following is not None and following <= self.page:
                raise ProviderError(
                    f"{NAME}: page {self.page} of {self.what} links to page {following} as the "
                    "next one (the listing would never end); nothing was moved"
                )
        else:  # no header: the documented fixed page size tells the last page
            following = self.page + 1 if len(items) >= PAGE_SIZE else None
        if following is None or not items:
            self.finished = True
        else:
            self.page = following
        return fresh


def _item_id(item: Mapping[str, Any]) -> str:
    embedded = item.get("affiliate")
    return str(embedded["id"] if isinstance(embedded, Mapping) else item["id"])


def _items(body: Any, what: str, page: int) -> list[Mapping[str, Any]]:
    def has_id(item: object) -> bool:
        if not isinstance(item, Mapping):
            return False
        embedded = item.get("affiliate")
        holder = embedded if isinstance(embedded, Mapping) else item
        return isinstance(holder.get("id"), str)

    if not isinstance(body, list) or not all(has_id(item) for item in body):
        raise ProviderError(
            f"{NAME}: unexpected answer to page {page} of {what} (not the documented array)"
        )
    return body


# --- reading -----------------------------------------------------------------------------

# One page of a listing: the decoded body and the answer's Link header (None when absent).
FetchPage = Callable[[str, int], Awaitable[tuple[Any, str | None]]]


def page_fetcher(http: ProviderHTTP, policy: RetryPolicy) -> FetchPage:
    """Pages read through `http`, each with its Link header."""

    async def fetch(path: str, page: int) -> tuple[Any, str | None]:
        async def call() -> Answer:
            return await http.answer("GET", path, params={"page": page}, kind="list")

        answer = await call_with_retries(call, policy=policy, write=False)
        return answer.body, answer.header("link")

    return fetch


async def read_listing(fetch: FetchPage, path: str, what: str) -> list[Mapping[str, Any]]:
    """Every item of one listing, page after page, each once."""
    pager = PagePager(what)
    items: list[Mapping[str, Any]] = []
    while not pager.finished:
        body, link = await fetch(path, pager.page)
        items.extend(pager.advance(body, link))
    return items


async def read_roster(fetch: FetchPage, program_id: str) -> list[dict[str, str | None]]:
    """The account's affiliates as neutral rows, with their approval and code in the program."""
    affiliations = await read_listing(
        fetch, affiliations_path(program_id), f"program {program_id}'s affiliates"
    )
    affiliates = await read_listing(fetch, "/affiliates/", "the affiliates")
    return join(affiliates, affiliations)


SOURCE = PlatformSource.stated_in(
    __name__,
    env_keys=(API_KEY_ENV, PROGRAM_ID_ENV),
    sample_seed="tapfiliate_affiliates.json",
    sandbox_values={PROGRAM_ID_ENV: "sandbox-program"},  # the emulator's program
    auth_headers=lambda credentials: auth_headers(credentials[API_KEY_ENV]),
    read=lambda client, credentials, reading: read_roster(
        page_fetcher(client.http, reading.retry),
        credentials[PROGRAM_ID_ENV],
    ),
)
