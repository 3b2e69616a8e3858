"""Finding the partners that already exist: a full scan or lookups, whichever is cheaper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import structlog

from sync.models import Candidate, Strategy
from sync.plan import RemoteIndex
from sync.providers.base import Page, Provider
from sync.providers.http import ProviderHTTP
from sync.retry import RetryPolicy, call_with_retries

log = structlog.get_logger(__name__)
T = TypeVar("T")

Progress = Callable[[str, int, int | None], None]


def scan_calls(existing: int, page_size: int) -> int:
    """Pages a full scan reads: every full page plus the short (maybe empty) one that ends it."""
    return existing // page_size + 1


def choose_strategy(
    candidates: int, existing: int | None, page_size: int, lookup_calls_per_row: int
) -> Strategy:
    """Pick the cheaper way to learn which candidates exist (pure).

    Args:
        candidates: distinct rows to match.
        existing: partners at the provider, if known.
        page_size: partners per list page.
        lookup_calls_per_row: calls to look one row up; 0 if the provider cannot.
    """
    if candidates == 0:
        return Strategy("none", "no valid rows to match", 0)
    if lookup_calls_per_row == 0:
        calls = scan_calls(existing, page_size) if existing is not None else 0
        return Strategy("scan", "the provider cannot look partners up one by one", calls)
    lookups = candidates * lookup_calls_per_row
    if existing is None:
        return Strategy(
            "lookup",
            f"{lookups} lookups; the provider does not say how many partners exist",
            lookups,
        )
    pages = scan_calls(existing, page_size)
    if pages < lookups:
        return Strategy(
            "scan", f"{pages} list page(s) for {existing} partners < {lookups} lookups", pages
        )
    return Strategy(
        "lookup", f"{lookups} lookups <= {pages} list page(s) for {existing} partners", lookups
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
        # The provider's own records of the last scan, by partner id, when asked to keep them.
        self.records: dict[str, Mapping[str, Any]] = {}

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        return await call_with_retries(call, policy=self._policy, write=False)

    async def count(self) -> int | None:
        return await self._read(lambda: self._provider.count(self._http))

    async def scan(self, expected: int | None, *, keep_records: bool = False) -> RemoteIndex:
        """Read every page. With a known count, the pages are fetched concurrently; then pages
        are read one by one until a short one, since partners may be added meanwhile.

        With `keep_records`, the provider's own records are kept in `self.records` (by id).
        """
        index = RemoteIndex()
        page_size = self._provider.page_size
        known_pages = scan_calls(expected, page_size) if expected is not None else 1
        semaphore = asyncio.Semaphore(self._concurrency)
        done = 0

        async def fetch(number: int) -> Page:
            nonlocal done
            async with semaphore:
                page = await self._read(lambda: self._provider.list_page(self._http, number))
            done += 1
            if self._progress:
                self._progress("listing", done, known_pages)
            if keep_records:
                for partner, record in zip(page.partners, page.records, strict=True):
                    self.records.setdefault(partner.id, record)
            return page

        pages = await asyncio.gather(*(fetch(n) for n in range(1, known_pages + 1)))
        for page in pages:
            index.extend(page.partners)
        last, number = pages[-1], known_pages
        while last.has_next:
            number += 1
            last = await fetch(number)
            index.extend(last.partners)
        log.info("listed existing partners", partners=len(index), pages=number)
        return index

    async def look_up(self, candidates: Sequence[Candidate]) -> RemoteIndex:
        """Look each candidate up by its keys, concurrently; one index of everything found."""
        index = RemoteIndex()
        semaphore = asyncio.Semaphore(self._concurrency)
        done = 0

        async def one(candidate: Candidate) -> None:
            nonlocal done
            async with semaphore:
                found = await self._read(lambda: self._provider.lookup(self._http, candidate))
            index.extend(found)
            done += 1
            if self._progress:
                self._progress("looking up", done, len(candidates))

        await asyncio.gather(*(one(candidate) for candidate in candidates))
        log.info("looked up partners", rows=len(candidates), found=len(index))
        return index
