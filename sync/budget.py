"""An account's rate budget as a run resolves it: requests per minute, whether the provider
states it, the most a guess may rise to, and the workers it needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.errors import UsageError
from sync.providers.base import Provider

MAX_CONCURRENCY = 64
# Latency we plan for before any answer is seen: enough workers to keep the budget busy.
ASSUMED_LATENCY = 1.0


def target_budget(
    options: Mapping[str, Any], provider: Provider
) -> tuple[float, bool, float | None]:
    """Requests per minute, whether that budget is known, and the most a guess rises to.

    Raises:
        UsageError: --rate-limit-guess beside a known budget, or a budget that cannot be.
    """
    rate = resolve_rate_limit(provider, options.get("rate_limit"), options.get("account_plan"))
    known = options.get("rate_limit") is not None or options.get("account_plan") is not None
    if options.get("rate_limit_guess") is not None:
        if known:
            raise UsageError("--rate-limit-guess is for an unknown budget: drop --rate-limit")
        rate = float(options["rate_limit_guess"])
    return rate, known, None if known else rate_ceiling(provider)


def resolve_rate_limit(provider: Provider, rate_limit: float | None, plan: str | None) -> float:
    """Requests per minute: --rate-limit, else the account plan's budget, else the default.

    Raises:
        UsageError: an unknown plan name or a non-positive rate.
    """
    if rate_limit is not None:
        if rate_limit <= 0:
            raise UsageError("--rate-limit must be a positive number of requests per minute")
        return rate_limit
    if plan is not None:
        plans: dict[str, int] = getattr(provider, "plans", {})
        if plan not in plans:
            known = ", ".join(plans) or "none"
            raise UsageError(f"{provider.name} has no plan {plan!r}", hint=f"known plans: {known}")
        return float(plans[plan])
    return float(provider.default_rate_limit)


def rate_ceiling(provider: Provider) -> float | None:
    """The most an unknown budget can be: the provider's largest plan, if it publishes plans."""
    plans: dict[str, int] = getattr(provider, "plans", {})
    return float(max(plans.values())) if plans else None


def default_concurrency(rate_limit: float) -> int:
    """Workers the budget needs at a pessimistic latency (rate x latency), bounded."""
    per_second = rate_limit / 60.0
    return max(2, min(MAX_CONCURRENCY, int(per_second * ASSUMED_LATENCY) + 2))
