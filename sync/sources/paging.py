"""The guard every source's paging shares: a listing must end, and each page must move on.

A server that sends the same page again (a page of partners already read, a cursor seen
before, a "next page" that does not advance) would be read forever; the guard stops the read
with a message instead. Nothing is moved from a listing that could not be read to its end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from sync.errors import ProviderError

# Far beyond any roster (ten million partners at 100 a page): a last stop, not a budget.
MAX_PAGES = 100_000

Record = Mapping[str, Any]


class PageGuard:
    """Keeps what a listing has shown, and refuses pages that show nothing new."""

    def __init__(self, source: str, listing: str, id_of: Callable[[Record], object]) -> None:
        self.source = source
        self.listing = listing
        self.pages = 0
        self._id_of = id_of
        self._ids: set[str] = set()
        self._cursors: set[str] = set()

    def fresh(self, records: Sequence[Record]) -> list[Record]:
        """The records of one page not seen on an earlier one.

        Raises:
            ProviderError: the page holds records and every one was read already, or the
                listing runs past MAX_PAGES.
        """
        self.pages += 1
        if self.pages > MAX_PAGES:
            self.stop(f"ran past {MAX_PAGES} pages")
        new = []
        for record in records:
            key = str(self._id_of(record))
            if key not in self._ids:
                self._ids.add(key)
                new.append(record)
        if records and not new:
            self.stop(f"page {self.pages} repeats partners already read")
        return new

    def cursor(self, value: str) -> str:
        """Check that a cursor (or next page number) was not followed before; return it."""
        if value in self._cursors:
            self.stop(f"sent the cursor {value!r} twice")
        self._cursors.add(value)
        return value

    def stop(self, why: str) -> NoReturn:
        """Refuse the listing, saying why it would never end."""
        raise ProviderError(
            f"{self.source}: the {self.listing} listing {why} (it would never end); "
            "nothing was moved",
            hint="try again later; if it persists, the platform's listing is broken",
        )


def records_of(body: Any, key: str, source: str, where: str) -> list[Record]:
    """The list of objects under `key` of an answer (or the answer itself for key "").

    Raises:
        ProviderError: the answer is not that shape.
    """
    items = body if not key else (body.get(key) if isinstance(body, Mapping) else None)
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ProviderError(f"{source}: unexpected answer to {where} (not the documented shape)")
    return items
