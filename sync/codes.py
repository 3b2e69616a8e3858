"""Referral codes at the target: the code a row sends, whether the target kept it, who holds it.

A migration carries each partner's referral code (sync.neutral `referral_code`) into the
target's code field (`Provider.code_field`: Dub's `username`, which seeds the default link key;
Partnero `key`; PromoteKit `ref_code`). A code is never changed silently: a code another
partner holds is a `conflict` where the target refuses it, and where the target gives the
partner another code instead (Dub suffixes a taken key), the row says which code it got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sync.models import Action, Candidate, PlanEntry, RemotePartner
from sync.retry import RetryPolicy, call_with_retries

if TYPE_CHECKING:  # the providers use this module's messages
    from sync.providers.base import Provider
    from sync.providers.http import ProviderHTTP


def sent_code(provider: Provider, payload: Mapping[str, Any]) -> str | None:
    """The referral code a create body asks for, if any."""
    field = provider.code_field
    value = payload.get(field) if field else None
    return value if isinstance(value, str) and value else None


def same_code(provider: Provider, one: str, other: str) -> bool:
    """Whether two codes are the same code at this provider (PromoteKit ignores case)."""
    if provider.codes_ignore_case:
        return one.casefold() == other.casefold()
    return one == other


def holds_code(provider: Provider, partner: RemotePartner, code: str) -> bool:
    return any(same_code(provider, code, held) for held in partner.codes)


def code_not_kept(provider: Provider, code: str, created: RemotePartner) -> str | None:
    """What to say of a created partner whose answer shows it did not get the code it was sent,
    or None when it did (or the answer shows no codes at all, which proves nothing)."""
    if not created.codes or holds_code(provider, created, code):
        return None
    got = ", ".join(repr(held) for held in created.codes)
    return (
        f"referral code {code!r} is taken at {provider.name}: the partner was created with "
        f"{got} instead; links with {code!r} do not reach this partner"
    )


def taken_message(provider: Provider, code: str, holder: RemotePartner | None) -> str:
    """The message of a row whose code another partner holds at the target."""
    by = f" by {holder.describe(provider.tenant_field or 'tenantId')}" if holder else ""
    return f"referral code {code!r} is taken at {provider.name}{by}"


def code_holders(provider: Provider, partners: Iterable[RemotePartner]) -> dict[str, RemotePartner]:
    """Every code these partners hold, to its (first) holder; keys folded where case does not
    count at the provider."""
    holders: dict[str, RemotePartner] = {}
    for partner in partners:
        for code in partner.codes:
            holders.setdefault(code_key(provider, code), partner)
    return holders


def code_key(provider: Provider, code: str) -> str:
    return code.casefold() if provider.codes_ignore_case else code


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """What the plan learned about the codes of the rows it would create."""

    entries: list[PlanEntry]  # the rows decided otherwise (or worded otherwise) for their code
    checked: int  # rows whose code was checked
    taken: int  # of those, codes another partner holds

    def note(self, provider: Provider) -> str | None:
        if not self.checked:
            return None
        then = (
            "their partners would get another code"
            if provider.suffixes_taken_codes
            else "those rows are conflicts"
        )
        return (
            f"referral codes: {self.taken} of {self.checked} to carry are taken at "
            f"{provider.name} already" + (f" ({then})" if self.taken else "")
        )


class CodesToCarry(Protocol):
    """The rows to create that send a referral code (built by the validation, on columns)."""

    def __len__(self) -> int: ...

    def distinct(self) -> set[str]:
        """Every code sent."""
        ...

    def held(self, codes: Collection[str], *, fold: bool) -> list[tuple[Candidate, str]]:
        """The rows whose code is one of `codes` (compared case-folded when `fold`), with it."""
        ...


async def check_codes(
    provider: Provider,
    http: ProviderHTTP,
    wanted: CodesToCarry,
    scanned: Iterable[RemotePartner] | None,
    *,
    ask: bool,
    policy: RetryPolicy,
    concurrency: int,
) -> CodeCheck:
    """Find the codes of rows to create that other partners hold already.

    A full scan (`scanned`) shows every code at no cost. Otherwise, with `ask`, the provider is
    asked once per code where its API can be (PromoteKit's `ref_code` filter, Partnero's
    `partners:search`); where it cannot (Dub), nothing is known before the create, whose answer
    shows the code the partner got.
    """
    if not len(wanted):
        return CodeCheck([], 0, 0)
    fold = provider.codes_ignore_case
    if scanned is not None:
        holders = code_holders(provider, scanned)
        taken = [
            (candidate, code, holders[code_key(provider, code)])
            for candidate, code in wanted.held(set(holders), fold=fold)
        ]
    elif ask:
        asked = await _ask(provider, http, wanted.distinct(), policy, concurrency)
        if asked is None:
            return CodeCheck([], 0, 0)
        held = {code: holder for code, holder in asked.items() if holder is not None}
        taken = [
            (candidate, code, held[code]) for candidate, code in wanted.held(set(held), fold=False)
        ]
    else:
        return CodeCheck([], 0, 0)
    entries = [_taken_entry(provider, candidate, code, holder) for candidate, code, holder in taken]
    return CodeCheck(entries, len(wanted), len(entries))


async def _ask(
    provider: Provider, http: ProviderHTTP, codes: set[str], policy: RetryPolicy, concurrency: int
) -> dict[str, RemotePartner | None] | None:
    """Each code's holder (None: nobody), asked concurrently; None if the API cannot say."""
    semaphore = asyncio.Semaphore(max(concurrency, 1))

    async def one(code: str) -> tuple[str, list[RemotePartner] | None]:
        async with semaphore:
            holders = await call_with_retries(
                lambda: provider.code_holders(http, code), policy=policy, write=False
            )
        return code, holders

    answers = await asyncio.gather(*(one(code) for code in sorted(codes)))
    if any(holders is None for _, holders in answers):
        return None
    return {code: holders[0] if holders else None for code, holders in answers}


def _taken_entry(
    provider: Provider, candidate: Candidate, code: str, holder: RemotePartner
) -> PlanEntry:
    message = taken_message(provider, code, holder)
    if provider.suffixes_taken_codes:
        action, message = Action.CREATE, f"would be created with another code: {message}"
    else:
        action = Action.CONFLICT
    return PlanEntry(
        row=candidate.row,
        action=action,
        remote_id=holder.id if action is Action.CONFLICT else None,
        message=message,
        field=provider.code_field,
        email=candidate.email,
        tenant_id=candidate.tenant_id,
    )
