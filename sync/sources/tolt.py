"""Tolt (API v1) as a migration source: the program's partners, and its links for the codes.

Reading costs `ceil(p / 100) + ceil(l / 100)` calls for p partners and l links (cursor paging
with `has_more`; an empty page only when a listing is empty), since a partner does not carry
its code: the links listing is read once and joined to the partners by `partner_id`.

Assumptions where sources.md says UNCERTAIN or is silent (the sandbox emulator makes the same):
- v1 (`https://api.tolt.com/v1`), as Dub's importer; the answer's `has_more` is followed with
  `starting_after=<last id>` and an empty `data` ends a listing whatever `has_more` says;
- THE code is the `value` of the partner's earliest link (by `created_at`, else the listing's
  order), exactly as Tolt keeps it: not slugified (Dub slugifies it; a code with a space is then
  reported by the target, not silently changed);
- `status` is `active`, `pending`, `suspended` or `rejected`; only `active` is active;
- the payout email is `payout_details.email` (PayPal's, or any method that states one);
- the budget is 25 requests a second per key: 1,500 a minute, evenly spaced (no burst), so no
  second holds more than 25.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.neutral import ACTIVE, neutral_row
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries
from sync.sources.paging import PageGuard, records_of
from sync.sources.platform import PlatformSource

NAME = "tolt"
DEFAULT_BASE_URL = "https://api.tolt.com/v1"
API_KEY_ENV = "TOLT_API_KEY"
PROGRAM_ID_ENV = "TOLT_PROGRAM_ID"
PAGE_LIMIT = 100  # the documented maximum
DEFAULT_RATE_LIMIT = 1500  # 25 per second, per minute

UNPORTABLE = {
    "referrals": "clicks, referrals and customers stay at Tolt",
    "commissions": "commissions and payouts are Tolt's records",
    "promotion_codes": "promotion codes are not moved",
    "groups": "partner groups are not created at the target",
    "links": "links change with the platform; the value of each partner's first link is "
    "carried as its code",
}


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def error_message(status: int, body: Any) -> str:
    """Tolt's v1 `{success, error: {message, type}}`, or v2's `{message, code}`, in one line."""
    if not isinstance(body, Mapping):
        return f"HTTP {status}"
    error = body.get("error")
    if isinstance(error, Mapping):
        kind = error.get("type")
        message = str(error.get("message") or f"HTTP {status}")
        return f"{kind}: {message}" if kind else message
    message = str(body.get("message") or error or f"HTTP {status}")
    code = body.get("code")
    return f"{code}: {message}" if code else message


def status_of(record: Mapping[str, Any]) -> str | None:
    status = record.get("status")
    if not isinstance(status, str) or not status.strip():
        return None
    word = status.strip().lower()
    return ACTIVE if word == "active" else word


def codes_by_partner(links: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each partner's code: the value of its earliest link (see the module docstring)."""
    ranked = sorted(
        enumerate(links),
        key=lambda pair: (str(pair[1].get("created_at") or ""), pair[0]),
    )
    codes: dict[str, str] = {}
    for _, link in ranked:
        partner, value = link.get("partner_id"), link.get("value")
        if isinstance(partner, str) and isinstance(value, str) and value.strip():
            codes.setdefault(partner, value.strip())
    return codes


def to_neutral(record: Mapping[str, Any], code: str | None) -> dict[str, str | None]:
    """One partner, with the code of its links, as a provider-neutral row."""
    details = record.get("payout_details")
    payout = details.get("email") if isinstance(details, Mapping) else None
    return neutral_row(
        source_id=record.get("id"),
        email=record.get("email"),
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        country=record.get("country_code"),
        payout_email=payout,
        referral_code=code,
        status=status_of(record),
        created_at=record.get("created_at"),
    )


async def read_listing(
    http: ProviderHTTP, policy: RetryPolicy, path: str, program_id: str
) -> list[Mapping[str, Any]]:
    """Every record of a cursor-paged v1 listing of the program, each once."""
    guard = PageGuard(NAME, path.strip("/"), lambda record: record.get("id"))
    records: list[Mapping[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"program_id": program_id, "limit": PAGE_LIMIT}
        if cursor is not None:
            params["starting_after"] = cursor

        async def call(params: Mapping[str, str | int] = params) -> Any:
            return await http.request("GET", path, params=params, kind="list")

        body = await call_with_retries(call, policy=policy, write=False)
        found = records_of(body, "data", NAME, f"GET {path}")
        records.extend(guard.fresh(found))
        more = isinstance(body, Mapping) and body.get("has_more") is True
        if not more or not found:
            return records
        cursor = guard.cursor(str(found[-1].get("id")))


async def read_roster(
    http: ProviderHTTP, policy: RetryPolicy, program_id: str
) -> list[dict[str, str | None]]:
    """Every partner of the program as a neutral row, with its code and its status."""
    partners = await read_listing(http, policy, "/partners", program_id)
    codes = codes_by_partner(await read_listing(http, policy, "/links", program_id))
    return [to_neutral(record, codes.get(str(record.get("id")))) for record in partners]


SOURCE = PlatformSource.stated_in(
    __name__,
    env_keys=(API_KEY_ENV, PROGRAM_ID_ENV),
    rate_published=True,
    sample_seed="tolt_partners.json",
    sandbox_values={PROGRAM_ID_ENV: "prg_sandbox"},  # the emulator's program
    auth_headers=lambda credentials: auth_headers(credentials[API_KEY_ENV]),
    read=lambda client, credentials, reading: read_roster(
        client.http, reading.retry, credentials[PROGRAM_ID_ENV]
    ),
)
