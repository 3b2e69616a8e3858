"""The providers partner-sync can sync into, by name."""

from __future__ import annotations

from sync.errors import UsageError
from sync.providers.base import Provider
from sync.providers.dub import Dub
from sync.providers.partnero import Partnero
from sync.providers.promotekit import PromoteKit

PROVIDERS: dict[str, type[Provider]] = {"dub": Dub, "partnero": Partnero, "promotekit": PromoteKit}


def get_provider(name: str) -> Provider:
    """The provider called `name`, or a `UsageError` listing the known ones."""
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise UsageError(
            f"unknown provider {name!r}", hint=f"choose one of: {', '.join(PROVIDERS)}"
        ) from None
