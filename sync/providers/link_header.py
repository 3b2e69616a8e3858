"""A transport that keeps each answer's `Link` header, for APIs that page by it (Tapfiliate).

`ProviderHTTP.request` hands back the decoded body only; a listing whose next page is named in
a header reads that header here, by the path and `page` of the request it answered.
"""

from __future__ import annotations

import httpx


class LinkRecorder(httpx.AsyncBaseTransport):
    """Passes every request on and records the `Link` header of its answer (None: no header)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._links: dict[tuple[str, str], str | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self._links[_key(request.url)] = response.headers.get("link")
        return response

    def link_of(self, path: str, page: int) -> str | None:
        """The `Link` header of the last answer to `path` (the URL's whole path) at `page`."""
        return self._links.get((path, str(page)))

    async def aclose(self) -> None:
        await self._inner.aclose()


def _key(url: httpx.URL) -> tuple[str, str]:
    return url.path, url.params.get("page", "")
