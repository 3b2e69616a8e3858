"""The one table of what partner-sync talks to: each provider with its emulator, and each
platform a migration reads from with its emulator.

A provider (`--provider`, `--from`) is a class in sync/providers/; a source platform
(`--from` only, read-only) is the `SOURCE` of its module in sync/sources/. Every one has an
emulator in sync/sandbox/ that `partner-sync sandbox` and the built-in sandbox serve. Adding
either is one module (plus its emulator) and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.errors import UsageError
from sync.providers.base import Provider
from sync.providers.dub import Dub
from sync.providers.partnero import Partnero
from sync.providers.promotekit import PromoteKit
from sync.sandbox.base import Emulator
from sync.sandbox.dub import DubEmulator
from sync.sandbox.firstpromoter import FirstPromoterEmulator
from sync.sandbox.partnero import PartneroEmulator
from sync.sandbox.partnerstack import PartnerStackEmulator
from sync.sandbox.promotekit import PromoteKitEmulator
from sync.sandbox.rewardful import RewardfulEmulator
from sync.sandbox.tapfiliate import TapfiliateEmulator
from sync.sandbox.tolt import ToltEmulator
from sync.sources import firstpromoter, partnerstack, rewardful, tapfiliate, tolt
from sync.sources.platform import PlatformSource


@dataclass(frozen=True, slots=True)
class Registered:
    """One platform: what syncs into it or reads from it, and what emulates it."""

    emulator: type[Emulator]
    provider: type[Provider] | None = None  # a platform partners are synced into
    source: PlatformSource | None = None  # a platform a migration only reads


REGISTRY: dict[str, Registered] = {
    "dub": Registered(DubEmulator, provider=Dub),
    "partnero": Registered(PartneroEmulator, provider=Partnero),
    "promotekit": Registered(PromoteKitEmulator, provider=PromoteKit),
    # Migration sources, read-only.
    "firstpromoter": Registered(FirstPromoterEmulator, source=firstpromoter.SOURCE),
    "partnerstack": Registered(PartnerStackEmulator, source=partnerstack.SOURCE),
    "rewardful": Registered(RewardfulEmulator, source=rewardful.SOURCE),
    "tapfiliate": Registered(TapfiliateEmulator, source=tapfiliate.SOURCE),
    "tolt": Registered(ToltEmulator, source=tolt.SOURCE),
}

PROVIDERS: dict[str, type[Provider]] = {
    name: entry.provider for name, entry in REGISTRY.items() if entry.provider is not None
}
PLATFORMS: dict[str, PlatformSource] = {
    name: entry.source for name, entry in REGISTRY.items() if entry.source is not None
}


def get_provider(name: str) -> Provider:
    """The provider called `name`, or a `UsageError` listing the known ones."""
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise UsageError(
            f"unknown provider {name!r}", hint=f"choose one of: {', '.join(PROVIDERS)}"
        ) from None


def emulator_of(name: str) -> type[Emulator]:
    """The emulator of provider or platform `name`.

    Raises:
        ValueError: no platform has that name.
    """
    try:
        return REGISTRY[name].emulator
    except KeyError:
        raise ValueError(
            f"unknown provider {name!r}; expected one of {', '.join(REGISTRY)}"
        ) from None
