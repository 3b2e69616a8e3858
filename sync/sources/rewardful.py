"""Rewardful (REST API v1) as a migration source: affiliates with their links' tokens.

Reading costs one call per page of 100 affiliates (`expand[]=links` embeds each affiliate's
links, so the codes cost nothing more): `ceil(n / 100)` calls when the pages state
`pagination.next_page`, one more (the empty page) when they do not.

Assumptions where sources.md says UNCERTAIN (the sandbox emulator makes the same ones):
- the envelope is `{pagination: {next_page, ...}, data: [...]}` and `next_page` null ends the
  listing; an answer without `pagination` is read on until an empty `data`, so either works;
- `state` is `active`, `disabled` or `suspicious`; only `active` is active, any other word is
  the partner's status as it stands (a record without `state` is active: the documented default);
- THE code is the `token` of the affiliate's first link (as listed) that has one; an affiliate
  has several links only when someone added more, and the first is the one made at sign-up;
- no country field: the rows carry none; the payout email is `paypal_email`, else `wise_email`;
- the budget is 45 requests per 30 seconds: 90 a minute, evenly spaced, so that no 30-second
  window holds more than 45 (sync/ratelimit.py spaces requests with no burst).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from sync.errors import ProviderError
from sync.neutral import ACTIVE, neutral_row
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries
from sync.sources.paging import PageGuard, records_of
from sync.sources.platform import PlatformSource

NAME = "rewardful"
DEFAULT_BASE_URL = "https://api.getrewardful.com/v1"
API_SECRET_ENV = "REWARDFUL_API_SECRET"  # noqa: S105 - the variable's name, not a secret
PAGE_LIMIT = 100  # the documented maximum
DEFAULT_RATE_LIMIT = 90  # 45 per 30 seconds, per minute

UNPORTABLE = {
    "referrals": "visitors, leads and conversions stay at Rewardful",
    "commissions": "commissions and payouts are Rewardful's records",
    "coupons": "coupons (Stripe promotion codes) are not moved",
    "campaigns": "campaigns (commission structures) exist only at Rewardful",
    "links": "links change with the platform; the token of each affiliate's first link is "
    "carried as its code",
}


def auth_headers(api_secret: str) -> dict[str, str]:
    """HTTP Basic with the API secret as the user and an empty password."""
    token = base64.b64encode(f"{api_secret}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def error_message(status: int, body: Any) -> str:
    """Rewardful's `{"error": "...", "details": [...]}` in one line."""
    if not isinstance(body, Mapping):
        return f"HTTP {status}"
    message = str(body.get("error") or f"HTTP {status}")
    details = body.get("details")
    if isinstance(details, list) and details:
        message += ": " + "; ".join(str(detail) for detail in details[:5])
    return message


def code_of(links: object) -> str | None:
    """The token of the first link that has one (see the module docstring)."""
    for link in links if isinstance(links, list) else []:
        token = link.get("token") if isinstance(link, Mapping) else None
        if isinstance(token, str) and token.strip():
            return token.strip()
    return None


def status_of(record: Mapping[str, Any]) -> str:
    state = record.get("state")
    if not isinstance(state, str) or not state.strip():
        return ACTIVE  # the documented default of a new affiliate
    word = state.strip().lower()
    return ACTIVE if word == "active" else word


def to_neutral(record: Mapping[str, Any]) -> dict[str, str | None]:
    """One affiliate (with `links` expanded) as a provider-neutral row."""
    return neutral_row(
        source_id=record.get("id"),
        email=record.get("email"),
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        referral_code=code_of(record.get("links")),
        payout_email=record.get("paypal_email") or record.get("wise_email"),
        status=status_of(record),
        created_at=record.get("created_at"),
    )


def next_page(body: Any, page: int, records: Sequence[Mapping[str, Any]]) -> int | None:
    """The page to read after `page`, or None at the end of the listing.

    Raises:
        ProviderError: `next_page` is not a page number.
    """
    if not records:
        return None  # an empty page ends the listing whatever it says
    pagination = body.get("pagination") if isinstance(body, Mapping) else None
    if not isinstance(pagination, Mapping):
        return page + 1  # no envelope: read on until a page is empty
    following = pagination.get("next_page")
    if following is None:
        return None
    if isinstance(following, bool) or not isinstance(following, int):
        raise ProviderError(f"{NAME}: unexpected answer to GET /affiliates (next_page)")
    return following


async def read_affiliates(http: ProviderHTTP, policy: RetryPolicy) -> list[Mapping[str, Any]]:
    """Every affiliate, each once, with its links."""
    guard = PageGuard(NAME, "affiliates", lambda record: record.get("id"))
    records: list[Mapping[str, Any]] = []
    page: int | None = 1
    while page is not None:
        params: dict[str, str | int] = {"page": page, "limit": PAGE_LIMIT, "expand[]": "links"}

        async def call(params: Mapping[str, str | int] = params) -> Any:
            return await http.request("GET", "/affiliates", params=params, kind="list")

        body = await call_with_retries(call, policy=policy, write=False)
        found = records_of(body, "data", NAME, "GET /affiliates")
        records.extend(guard.fresh(found))
        following = next_page(body, page, found)
        if following is not None and following <= page:
            guard.stop(f"points back from page {page} to page {following}")
        page = following
    return records


async def read_roster(http: ProviderHTTP, policy: RetryPolicy) -> list[dict[str, str | None]]:
    """Every affiliate as a neutral row, with its code and its status."""
    return [to_neutral(record) for record in await read_affiliates(http, policy)]


SOURCE = PlatformSource.stated_in(
    __name__,
    env_keys=(API_SECRET_ENV,),
    rate_published=True,
    sample_seed="rewardful_affiliates.json",
    auth_headers=lambda credentials: auth_headers(credentials[API_SECRET_ENV]),
    read=lambda client, credentials, reading: read_roster(client.http, reading.retry),
)
