"""FirstPromoter (admin API v2) as a migration source: promoters with their campaigns' tokens.

Reading costs `floor(n / 100) + 1` calls: pages of 100 promoters until an empty `data` (the
answers state no total and no next page, so the empty page is the only sure end). The codes
come embedded, in `promoter_campaigns[]`.

Assumptions where sources.md says UNCERTAIN or leaves a choice (the emulator makes the same):
- the base is `https://api.firstpromoter.com/api/v2/company` (the admin docs; Dub's `v2.` host
  serves the same paths: pass it with --from-base-url);
- a promoter is active when ANY of its promoter_campaigns is `accepted`; otherwise its status
  is the state of its first campaign (`pending`, `rejected`, `blocked`, `inactive`,
  `not_set`), or `not_set` with no campaign at all; an archived promoter (`archived_at` set)
  is `archived` whatever its campaigns say;
- THE code is the `ref_token` of the first accepted campaign in the order listed, else of the
  first campaign with a token: the one a partner active at the source is promoting;
- the payout email is nowhere in the documented promoter: the rows carry none;
- `cust_id` (the user's own id for the promoter) is the neutral `external_id`;
- the budget is 400 requests a minute per account; a 429 carries no documented header, so the
  shared limiter's own pause applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.neutral import ACTIVE, neutral_row
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries
from sync.sources.paging import PageGuard, records_of
from sync.sources.platform import PlatformSource

NAME = "firstpromoter"
DEFAULT_BASE_URL = "https://api.firstpromoter.com/api/v2/company"
API_KEY_ENV = "FIRSTPROMOTER_API_KEY"
ACCOUNT_ID_ENV = "FIRSTPROMOTER_ACCOUNT_ID"
PAGE_LIMIT = 100  # the documented maximum
DEFAULT_RATE_LIMIT = 400
ACCEPTED = "accepted"
NO_CAMPAIGN = "not_set"

UNPORTABLE = {
    "referrals": "clicks, referrals, customers and revenue stay at FirstPromoter",
    "commissions": "commissions, balances and payouts are FirstPromoter's records",
    "promo_codes": "promo codes (coupons) are not moved",
    "campaigns": "campaigns exist only at FirstPromoter; one code per promoter is carried",
    "profile": "company, address, social links and custom fields are not moved",
}


def auth_headers(api_key: str, account_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Account-ID": account_id}


def error_message(status: int, body: Any) -> str:
    """FirstPromoter's `{message, code}` in one line."""
    if not isinstance(body, Mapping):
        return f"HTTP {status}"
    message = str(body.get("message") or body.get("error") or f"HTTP {status}")
    code = body.get("code")
    return f"{code}: {message}" if code else message


def _campaigns(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = record.get("promoter_campaigns")
    return [entry for entry in entries or [] if isinstance(entry, Mapping)]


def _state(entry: Mapping[str, Any]) -> str:
    state = entry.get("state")
    return state.strip().lower() if isinstance(state, str) and state.strip() else NO_CAMPAIGN


def _token(entry: Mapping[str, Any]) -> str | None:
    token = entry.get("ref_token")
    return token.strip() if isinstance(token, str) and token.strip() else None


def status_of(record: Mapping[str, Any]) -> str:
    """`active` when any campaign is accepted; else the first campaign's own state."""
    if record.get("archived_at"):
        return "archived"
    campaigns = _campaigns(record)
    if any(_state(entry) == ACCEPTED for entry in campaigns):
        return ACTIVE
    return _state(campaigns[0]) if campaigns else NO_CAMPAIGN


def code_of(record: Mapping[str, Any]) -> str | None:
    """The first accepted campaign's token, else the first token (see the module docstring)."""
    campaigns = _campaigns(record)
    accepted = [entry for entry in campaigns if _state(entry) == ACCEPTED]
    for entry in [*accepted, *campaigns]:
        token = _token(entry)
        if token:
            return token
    return None


def to_neutral(record: Mapping[str, Any]) -> dict[str, str | None]:
    """One promoter as a provider-neutral row."""
    profile = record.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    has_parts = profile.get("first_name") or profile.get("last_name")
    return neutral_row(
        source_id=record.get("id"),
        external_id=record.get("cust_id"),
        email=record.get("email"),
        name=None if has_parts else record.get("name"),
        first_name=profile.get("first_name"),
        last_name=profile.get("last_name"),
        country=profile.get("country"),
        description=record.get("note"),
        referral_code=code_of(record),
        status=status_of(record),
        created_at=record.get("joined_at") or record.get("created_at"),
    )


async def read_promoters(http: ProviderHTTP, policy: RetryPolicy) -> list[Mapping[str, Any]]:
    """Every promoter, each once, with its campaigns."""
    guard = PageGuard(NAME, "promoters", lambda record: record.get("id"))
    records: list[Mapping[str, Any]] = []
    page = 1
    while True:
        params: dict[str, str | int] = {"page": page, "per_page": PAGE_LIMIT}

        async def call(params: Mapping[str, str | int] = params) -> Any:
            return await http.request("GET", "/promoters", params=params, kind="list")

        body = await call_with_retries(call, policy=policy, write=False)
        found = records_of(body, "data", NAME, "GET /promoters")
        if not found:
            return records
        records.extend(guard.fresh(found))
        page += 1


async def read_roster(http: ProviderHTTP, policy: RetryPolicy) -> list[dict[str, str | None]]:
    """Every promoter as a neutral row, with its code and its status."""
    return [to_neutral(record) for record in await read_promoters(http, policy)]


SOURCE = PlatformSource.stated_in(
    __name__,
    env_keys=(API_KEY_ENV, ACCOUNT_ID_ENV),
    rate_published=True,
    sample_seed="firstpromoter_promoters.json",
    sandbox_values={ACCOUNT_ID_ENV: "acc_sandbox"},
    # The emulator takes "key:account" and checks both headers against it.
    sandbox_key_parts=(API_KEY_ENV, ACCOUNT_ID_ENV),
    auth_headers=lambda credentials: auth_headers(
        credentials[API_KEY_ENV], credentials[ACCOUNT_ID_ENV]
    ),
    read=lambda client, credentials, reading: read_roster(client.http, reading.retry),
)
