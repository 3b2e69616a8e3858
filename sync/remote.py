"""Finding the partners that already exist: a full scan or lookups, whichever is cheaper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import structlog

from sync.errors import ProviderError
from sync.index import ExistingPartners
from sync.models import Candidate, Strategy
from sync.progress import Progress
from sync.providers.base import Page, Provider
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries

log = structlog.get_logger(__name__)
T = TypeVar("T")


# A listing that does not end is stopped, not read until the process is killed. Pages beyond
# what the provider's count allows are tolerated up to this many (partners added meanwhile),
# or a tenth more, whichever is larger...
EXTRA_PAGES = 10
# ...and this many pages that bring no partner not already read in the same pass (a page
# number ignored, a next link pointing back) are tolerated: a listing shifted by partners
# added at its front during a concurrent read can repeat one page, not a run of them.
REPEATED_PAGES = 3


def scan_calls(existing: int, page_size: int) -> int:
    """Pages a full scan reads: every full page plus the short (maybe empty) one that ends it."""
    return existing // page_size + 1


def choose_strategy(
    candidates: int, existing: int | None, page_size: int, lookups: int
) -> Strategy:
    """Pick the cheaper way to learn which candidates exist (pure).

    Args:
        candidates: distinct rows to match.
        existing: partners at the provider, if known.
        page_size: partners per list page.
        lookups: the most calls looking the candidates up takes; 0 if the provider cannot.
    """
    if candidates == 0:
        return Strategy("none", "no valid rows to match", 0)
    if lookups == 0:
        calls = scan_calls(existing, page_size) if existing is not None else 0
        return Strategy("scan", "the provider cannot look partners up one by one", calls)
    at_most = f"{lookups} lookup call(s) at most"
    if existing is None:
        return Strategy(
            "lookup", f"{at_most}; the provider does not say how many partners exist", lookups
        )
    pages = scan_calls(existing, page_size)
    if pages < lookups:
        return Strategy("scan", f"{pages} list page(s) for {existing} partners < {at_most}", pages)
    return Strategy("lookup", f"{at_most} <= {pages} list page(s) for {existing} partners", lookups)


def lookup_calls(provider: Provider, rows: int, with_tenant: int) -> int:
    """The most calls looking up `rows` rows takes, `with_tenant` of them with a tenant id;
    0 if the provider cannot look partners up."""
    if provider.lookup_calls_per_row == 0:
        return 0
    return rows * provider.lookup_calls_per_row + with_tenant * provider.lookup_calls_per_tenant


def choose_by_page(lookups: int, page_has_partners: bool) -> Strategy:
    """Pick scan or lookups without a count, from whether list page `lookups` has partners (pure).

    A listing with partners on page N needs more than N calls to read, so N lookups are cheaper;
    an empty page N means the whole listing takes at most N calls.
    """
    if page_has_partners:
        return Strategy(
            "lookup",
            f"{lookups} lookup call(s) at most < reading the listing: its page {lookups} is "
            "not empty",
            lookups,
        )
    return Strategy(
        "scan",
        f"the listing ends before page {lookups}: no more calls than {lookups} lookup call(s)",
        lookups,
    )


class RemoteReader:
    """Reads existing partners through one provider account, concurrently under its budget."""

    def __init__(
        self,
        provider: Provider,
        http: ProviderHTTP,
        policy: RetryPolicy,
        concurrency: int,
        progress: Progress | None = None,
    ) -> None:
        self._provider = provider
        self._http = http
        self._policy = policy
        self._concurrency = max(concurrency, 1)
        self._progress = progress
        self._keep_records = False
        # The provider's own records of the last scan, by partner id, when asked to keep them.
        self.records: dict[str, Mapping[str, Any]] = {}
        self.listed = 0  # partners the listing's pages showed (repeats included)

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        return await call_with_retries(call, policy=self._policy, write=False)

    async def count(self) -> int | None:
        return await self._read(lambda: self._provider.count(self._http))

    async def _page(self, number: int) -> Page:
        return await self._read(lambda: self._provider.list_page(self._http, number))

    async def choose(self, candidates: int, with_tenant: int = 0) -> tuple[Strategy, int | None]:
        """The cheaper way to match `candidates` distinct rows (`with_tenant` of them with a
        tenant id), and the partner count if known.

        Without a count, one read of list page N (N = the lookups needed) settles the choice.
        """
        provider = self._provider
        lookups = lookup_calls(provider, candidates, with_tenant)
        if candidates == 0:
            return choose_strategy(0, None, provider.page_size, lookups), None
        existing = await self.count()
        if existing is None and lookups > 1:
            page = await self._page(lookups)
            return choose_by_page(lookups, bool(page.partners)), None
        return choose_strategy(candidates, existing, provider.page_size, lookups), existing

    async def scan(self, expected: int | None, *, keep_records: bool = False) -> ExistingPartners:
        """Read every page of the listing, several at a time, into one index.

        With `keep_records`, the provider's own records are kept in `self.records` (by id), for
        a migration's provider-neutral rows.

        A listing whose total moved while its pages were read concurrently may have shifted
        partners between two pages read out of order; it is then read again one page after the
        other, which no insertion at either end can defeat (a shifted partner is seen twice,
        and the index keeps one).
        """
        index = ExistingPartners()
        self._keep_records = keep_records
        # Only the pages' own totals count: a change before the first page was read is harmless.
        totals = await self._scan_into(index, expected, self._concurrency)
        if len(totals) > 1:
            log.warning(
                "the listing changed while it was read; reading it again in order",
                totals=sorted(totals),
            )
            await self._scan_into(index, None, 1, bound=max([*totals, expected or 0]))
        log.info("listed existing partners", partners=self.listed)
        return index

    async def _scan_into(
        self,
        index: ExistingPartners,
        expected: int | None,
        concurrency: int,
        *,
        bound: int | None = None,
    ) -> set[int]:
        """Read pages in order with up to `concurrency` in flight (which ones: `_PagesToRead`);
        return the totals seen.

        Raises:
            ProviderError: the listing does not end (`_Endless`); `bound` is a partner count
                the listing is known to have had, besides `expected` and the pages' totals.
        """
        endless = _Endless(self._provider, expected if bound is None else max(bound, expected or 0))
        pages_hint = (
            scan_calls(expected, self._provider.page_size) if expected is not None else None
        )
        pages = _PagesToRead(pages_hint or 1, concurrency)
        in_flight: dict[asyncio.Task[Page], int] = {}
        totals: set[int] = set()
        done = 0
        try:
            while True:
                while len(in_flight) < concurrency and (number := pages.next()) is not None:
                    in_flight[asyncio.ensure_future(self._page(number))] = number
                if not in_flight:
                    return totals
                finished, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    number = in_flight.pop(task)
                    page = task.result()
                    endless.check(number, page)
                    self._take(page, index, totals)
                    pages.read(number, page)
                    done += 1
                    if self._progress:
                        self._progress("listing", done, pages_hint)
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    def _take(self, page: Page, index: ExistingPartners, totals: set[int]) -> None:
        """A page's partners into the index (and records, when kept); its total into `totals`."""
        index.add(page.partners)
        self.listed += len(page.partners)
        if self._keep_records:
            for partner, record in zip(page.partners, page.records, strict=True):
                self.records.setdefault(partner.id, record)
        if page.total is not None:
            totals.add(page.total)

    async def look_up(
        self, candidates: Sequence[Candidate], *, keep_records: bool = False
    ) -> ExistingPartners:
        """Look each candidate up by its keys, concurrently; one index of everything found.

        With `keep_records`, the provider's own records are kept in `self.records` (by id)."""
        index = ExistingPartners()
        found_count = 0
        semaphore = asyncio.Semaphore(self._concurrency)
        done = 0
        provider, http = self._provider, self._http

        async def one(candidate: Candidate) -> None:
            nonlocal done, found_count
            async with semaphore:
                if keep_records:
                    records = await self._read(lambda: provider.lookup_records(http, candidate))
                    found = [provider.partner_of(record) for record in records]
                    for partner, record in zip(found, records, strict=True):
                        self.records.setdefault(partner.id, record)
                else:
                    found = await self._read(lambda: provider.lookup(http, candidate))
            index.add(found)
            found_count += len(found)
            done += 1
            if self._progress:
                self._progress("looking up", done, len(candidates))

        await asyncio.gather(*(one(candidate) for candidate in candidates))
        log.info("looked up partners", rows=len(candidates), found=found_count)
        return index


class _PagesToRead:
    """Which list page a scan asks for next.

    Every page a known count implies is certainly needed. Beyond those (or with no count at
    all) the reader speculates: it keeps `ahead` pages in flight past the last page known to
    exist, starting at one and doubling while pages say that more follow, so a one-page
    listing costs no wasted call and a long one at most `concurrency - 1`. The first page
    that says it is the last stops new requests.
    """

    def __init__(self, known_pages: int, concurrency: int) -> None:
        self._known_pages = known_pages
        self._concurrency = concurrency
        self._next, self._exists_up_to, self._ahead = 1, known_pages, 1
        self._last: int | None = None

    def next(self) -> int | None:
        """The number of the next page to ask for, or None while none is worth asking for."""
        number = self._next
        if number > max(self._known_pages, self._exists_up_to + self._ahead - 1):
            return None
        if self._last is not None and number > self._last:
            return None
        self._next += 1
        return number

    def read(self, number: int, page: Page) -> None:
        """Page `number` arrived: it may show that more pages exist, or that it is the last."""
        # An empty page ends the listing whatever it says: a server that always answered
        # "more" would otherwise be read forever.
        if page.has_next and page.partners:
            if number + 1 > self._exists_up_to:
                self._exists_up_to = number + 1
                self._ahead = min(self._ahead * 2, self._concurrency)
        elif self._last is None or number < self._last:
            self._last = number


class _Endless:
    """Notices a listing that does not end: more pages than its partner count allows, or pages
    that only repeat partners already read in this pass."""

    def __init__(self, provider: Provider, count: int | None) -> None:
        self._provider = provider
        self._count = count
        self._seen = _Sightings()
        self._repeats = 0

    def check(self, number: int, page: Page) -> None:
        """Raises ProviderError when page `number` shows the listing does not end."""
        if page.total is not None:
            self._count = max(self._count or 0, page.total)
        if page.partners and self._seen.add(partner.id for partner in page.partners):
            self._repeats += 1
        name = self._provider.name
        if self._repeats >= REPEATED_PAGES:
            raise ProviderError(
                f"{name}: the listing does not end: {self._repeats} pages (the last: page "
                f"{number}) show only partners already read, yet say more follow",
                hint=f"{name}'s listing ignores its page number or links back to itself; "
                "nothing was sent",
            )
        if self._count is None or not page.has_next:
            return
        allowed = scan_calls(self._count, self._provider.page_size)
        allowed += max(EXTRA_PAGES, allowed // 10)
        if number >= allowed:
            raise ProviderError(
                f"{name}: the listing does not end: page {number} says more follow, but "
                f"{self._count} partners fill {scan_calls(self._count, self._provider.page_size)}"
                " page(s)",
                hint=f"{name}'s count and its listing disagree; nothing was sent",
            )


class _Sightings:
    """The partner ids one pass of a listing has read, as a Bloom filter: one bit per id in
    16 MB whatever the count (a set of a million ids' hashes takes five times that, and the
    index keeps the ids already).

    It can take an id it never saw for seen (about one in a hundred and thirty at a million
    partners, one in fourteen at ten million), never the reverse; a page counts as a repeat
    only when every id on it looks seen, so a page of new partners passes for one only if
    each of its ids is mistaken.
    """

    _BITS = 1 << 27

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS >> 3)

    def add(self, ids: Iterable[str]) -> bool:
        """Mark these ids seen; whether every one of them looked seen before."""
        bits, mask = self._bits, self._BITS - 1
        all_seen = True
        for partner_id in ids:
            position = hash(partner_id) & mask
            byte, bit = position >> 3, 1 << (position & 7)
            if not bits[byte] & bit:
                bits[byte] |= bit
                all_seen = False
        return all_seen
