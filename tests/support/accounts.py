"""The suite's provider accounts: one test key per provider, and the environment of a CLI run.

The keys look real, so that the byte scans (support/keyscan.py) would find a leak. The sandboxes
of the end-to-end and hostile-input tiers accept only their provider's key and enforce no limit
(`keyed_options`); the CLI then paces itself at the budget a test gives.
"""

from __future__ import annotations

from typing import Any

from .runs import keyless_environ

# Each provider's test key, under the variable the CLI reads it from.
KEYS = {
    "dub": ("DUB_API_KEY", "dub_test_5Kq9LmX2vR7tW3yZ8aB4cD6e"),
    "partnero": ("PARTNERO_API_KEY", "ptn_7Hq2Xw9Lm4Vb8Nc3Rt6Yz1KaQe5Ud0"),
    "promotekit": ("PROMOTEKIT_API_KEY", "pk_live_3Fg8Hj2Kl5Mn9Pq4Rs7Tv1WxYz6Ab"),
}
DUB_KEY = KEYS["dub"][1]
PARTNERO_KEY = KEYS["partnero"][1]
PROMOTEKIT_KEY = KEYS["promotekit"][1]

_OWN_KEY: Any = object()  # "the provider's test key", as a default argument


def keyed_options(provider: str) -> dict[str, Any]:
    """A sandbox of `provider` that accepts only its test key (any key, for a source platform)
    and enforces no limit."""
    key = {"api_key": KEYS[provider][1]} if provider in KEYS else {}
    return {**key, "rate_limit": 0}


def cli_env(key: str | None = _OWN_KEY, *, provider: str = "dub", **extra: str) -> dict[str, str]:
    """The environment of a CLI run: no provider key but `provider`'s (None: none at all)."""
    env = keyless_environ()
    variable, own = KEYS[provider]
    if key is _OWN_KEY:
        key = own
    if key is not None:
        env[variable] = key
    env.update(extra)
    return env
