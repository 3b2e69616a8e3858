"""A provider account's listing of N partners, served in-process page by page, for the local bench.

The pages are the provider's own list answers (the shapes its sandbox emulator serves, from
providers.md), made on request from the partner's number, so that a million partners cost no
memory until they are read. They are read the way `partner-sync plan` reads an account, but for the
HTTP client: `RemoteReader.scan`, several pages at a time, each parsed by the provider's own
`list_page`, into the one index of existing partners.

Partner `n` is the partner of roster row `n` (bench/data.py): email
`partner{n}@example{n % 97}.com`,
tenant id `crm-{n}` (at Partnero, its own `id`; PromoteKit has none), referral code `partner_{n}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from sync.index import ExistingPartners
from sync.providers.http import ProviderHTTP
from sync.remote import RemoteReader
from sync.settings import Settings

STAMP = "2026-01-01T00:00:00.000Z"
Page = Callable[[int, int, int], Any]  # (first partner, last partner + 1, total) -> answer body


def _email(n: int) -> str:
    return f"partner{n}@example{n % 97}.com"


def _dub_page(first: int, end: int, total: int) -> Any:
    return [
        {
            "id": f"pn_{n:024d}",
            "name": f"Partner {n}",
            "email": _email(n),
            "image": None,
            "country": "US",
            "tenantId": f"crm-{n}",
            "status": "approved",
            "createdAt": STAMP,
            "links": [{"id": f"link_{n}", "key": f"partner_{n}", "url": "https://example.com"}],
        }
        for n in range(first, end)
    ]


def _partnero_page(first: int, end: int, total: int) -> Any:
    link = "https://example.com/?aff=partner_{}"
    return {
        "data": [
            {
                "email": _email(n),
                "created_at": STAMP,
                "updated_at": STAMP,
                "name": f"First{n}",
                "id": f"crm-{n}",
                "surname": f"Last{n}",
                "tos": False,
                "approved": True,
                "status": "active",
                "custom_fields": [],
                "referrals_count": 0,
                "tags": [{"value": "blog"}],
                "referral_link": link.format(n),
                "referral_links": [link.format(n)],
            }
            for n in range(first, end)
        ],
        "links": {"next": "https://example.com/v1/partners?page=next" if end < total else None},
        "meta": {"per_page": 100},
        "status": 1,
    }


def _promotekit_page(first: int, end: int, total: int) -> Any:
    return {
        "success": True,
        "data": [
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "email": _email(n),
                "first_name": f"First{n}",
                "last_name": f"Last{n}",
                "created_at": STAMP,
                "approved": True,
                "links": [{"code": f"partner_{n}", "url": "https://example.com"}],
                "promo_codes": [],
            }
            for n in range(first, end)
        ],
        "pagination": {"total_count": total, "has_more": end < total},
    }


PAGES: dict[str, Page] = {
    "dub": _dub_page,
    "partnero": _partnero_page,
    "promotekit": _promotekit_page,
}


class Account:
    """The account's API as far as a scan asks: the partner count (Dub's GET /partners/count;
    PromoteKit states it on every page) and every list page, as the decoded JSON answer the HTTP
    client hands the provider. The client itself (transport, JSON decoding, redaction of answers)
    is left out: against a real account its time is network time."""

    def __init__(self, provider: str, partners: int, page_size: int) -> None:
        self._page = PAGES[provider]
        self._partners = partners
        self._page_size = page_size

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        if path.endswith("/count"):
            return self._partners
        query = params or {}
        page = int(query.get("page", 1))
        size = int(query.get("pageSize", query.get("limit", self._page_size)))
        first = min((page - 1) * size, self._partners)
        return self._page(first, min(first + size, self._partners), self._partners)


def scan(settings: Settings, partners: int) -> ExistingPartners:
    """Every partner of the account, read as `plan` reads a listing, into the index."""
    provider = settings.provider
    account = Account(provider.name, partners, provider.page_size)
    http = cast(ProviderHTTP, account)
    reader = RemoteReader(provider, http, settings.retry, settings.concurrency)

    async def read() -> ExistingPartners:
        return await reader.scan(await reader.count())

    return asyncio.run(read())
