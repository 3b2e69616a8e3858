"""The shared scan: pages in flight, wasted calls, and listings that change while they are read.

The listing is an in-memory stand-in for a provider's paginated list: a page can be held back
until another has been served (pages served out of order, whatever the machine's load), and a
hook changes the listing as a page is served.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping

import pytest

from sync.index import ID
from sync.models import RemotePartner
from sync.providers.base import Page
from sync.remote import RemoteReader, choose_by_page, scan_calls
from sync.retry import RetryPolicy

SIZE = 10
PAGE_2_AFTER_PAGE_3 = {2: 3}  # page 2 answered once page 3 has been


def partner(name: str) -> RemotePartner:
    return RemotePartner(name, f"{name}@example.com")


class Listing:
    """Partners in listing order, served a page at a time."""

    name = "listing"
    page_size = SIZE
    lookup_calls_per_tenant = 0

    def __init__(
        self,
        count: int,
        *,
        with_total: bool = False,
        held: Mapping[int, int] | None = None,
        on_served: Callable[[int, Listing], None] | None = None,
        lookup_calls_per_row: int = 1,
    ) -> None:
        self.partners = [partner(f"p{n}") for n in range(count)]
        self.with_total = with_total
        self.held = held or {}  # page -> the page it is answered after
        self._served: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.on_served = on_served
        self.lookup_calls_per_row = lookup_calls_per_row
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def count(self, http) -> int | None:
        return len(self.partners) if self.with_total else None

    async def list_page(self, http, page: int) -> Page:
        self.calls.append(page)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.001)  # every page waits: the pages asked together overlap
        if page in self.held:
            await self._served[self.held[page]].wait()
        self.in_flight -= 1
        start = (page - 1) * SIZE
        served = Page(
            list(self.partners[start : start + SIZE]),
            has_next=len(self.partners) > start + SIZE,
            total=len(self.partners) if self.with_total else None,
        )
        if self.on_served:
            self.on_served(page, self)
        self._served[page].set()
        return served


def scan(listing: Listing, concurrency: int, expected: int | None = None) -> set[str]:
    reader = RemoteReader(listing, None, RetryPolicy(), concurrency)  # type: ignore[arg-type]
    index = asyncio.run(reader.scan(expected))
    return set(index.columns.partners[ID])


def names(count: int) -> set[str]:
    return {f"p{n}" for n in range(count)}


def test_a_one_page_listing_costs_one_call():
    listing = Listing(7)
    assert scan(listing, concurrency=8) == names(7)
    assert listing.calls == [1]


def test_an_empty_listing_costs_one_call():
    listing = Listing(0)
    assert scan(listing, concurrency=8) == set()
    assert listing.calls == [1]


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_without_a_total_pages_are_read_ahead_and_few_are_wasted(concurrency):
    listing = Listing(245)  # 25 pages, the last one short
    assert scan(listing, concurrency) == names(245)
    assert sorted(set(listing.calls)) == list(range(1, len(set(listing.calls)) + 1))
    assert len(listing.calls) == len(set(listing.calls))  # no page twice
    assert 25 <= len(listing.calls) <= 25 + concurrency - 1
    assert listing.max_in_flight <= concurrency
    assert listing.max_in_flight > 1 or concurrency == 1


def test_with_a_total_exactly_the_pages_it_implies_are_read():
    listing = Listing(250, with_total=True)
    assert scan(listing, concurrency=4, expected=250) == names(250)
    # The 25 full pages, and the empty page 26 that the total implies, unless page 25 (which
    # says it is the last) came back before page 26 was asked for: never a page more.
    pages = scan_calls(250, SIZE)
    assert sorted(listing.calls) in (list(range(1, pages + 1)), list(range(1, pages)))
    assert listing.max_in_flight == 4


def test_partners_appended_during_the_scan_shift_nobody():
    # Dub (createdAt ascending) and Partnero (creation order) append new partners at the end.
    def append(page: int, listing: Listing) -> None:
        if page == 3:
            listing.partners += [partner("new1"), partner("new2")]

    listing = Listing(95, on_served=append, held=PAGE_2_AFTER_PAGE_3)
    assert scan(listing, concurrency=4) >= names(95)


def _prepend_while_page_3_is_served(page: int, listing: Listing) -> None:
    if page == 3:
        listing.partners[:0] = [partner(f"new{n}") for n in range(5)]


def test_a_listing_that_moves_during_a_concurrent_scan_is_read_again_in_order():
    # Newest first (PromoteKit, as the sandbox serves it): affiliates added while page 3 is
    # served push p15..p19 from page 2, served later, onto page 3, served already.
    listing = Listing(
        100, with_total=True, on_served=_prepend_while_page_3_is_served, held=PAGE_2_AFTER_PAGE_3
    )
    assert scan(listing, concurrency=4, expected=100) >= names(100)
    # The first pass, then the listing once more, one page after the other.
    assert len(listing.calls) == 11 + 11
    assert listing.calls[11:] == list(range(1, 12))


def test_without_totals_a_moving_newest_first_listing_would_lose_partners():
    # Why pages carry the total when the provider states it: without it, nothing tells.
    listing = Listing(100, on_served=_prepend_while_page_3_is_served, held=PAGE_2_AFTER_PAGE_3)
    missed = names(100) - scan(listing, concurrency=4)
    assert missed == {f"p{n}" for n in range(15, 20)}


def test_a_page_that_claims_more_but_is_empty_ends_the_scan():
    class Endless(Listing):
        async def list_page(self, http, page: int) -> Page:
            served = await super().list_page(http, page)
            return Page(served.partners, has_next=True)

    listing = Endless(15)
    assert scan(listing, concurrency=2) == names(15)
    assert max(listing.calls) <= 4


@pytest.mark.parametrize(
    ("candidates", "strategy", "probed_page"), [(10, "lookup", 10), (30, "scan", 30)]
)
def test_without_a_count_one_page_read_chooses(candidates, strategy, probed_page):
    listing = Listing(245)  # pages 1..25
    reader = RemoteReader(listing, None, RetryPolicy(), 4)  # type: ignore[arg-type]
    chosen, existing = asyncio.run(reader.choose(candidates))
    assert (chosen.name, existing) == (strategy, None)
    assert listing.calls == [probed_page]


def test_a_provider_that_cannot_look_up_scans_without_a_page_read():
    listing = Listing(245, lookup_calls_per_row=0)
    reader = RemoteReader(listing, None, RetryPolicy(), 4)  # type: ignore[arg-type]
    chosen, _ = asyncio.run(reader.choose(50))
    assert chosen.name == "scan" and listing.calls == []


def test_choosing_by_page_says_why():
    assert choose_by_page(40, True).name == "lookup"
    empty = choose_by_page(40, False)
    assert empty.name == "scan" and "before page 40" in empty.reason
