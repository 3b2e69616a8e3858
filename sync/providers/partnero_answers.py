"""How Partnero's answers read: its partner records (whose `id` is also the tenant id, and whose
referral key may stand only in its referral link), its pages, and its refusals (which fields a
422 says are taken, and the message to show).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sync.models import RemotePartner
from sync.providers.base import Page, unexpected_answer

# The query parameter of a Partnero referral link that carries the partner's key (?aff=KEY).
REFERRAL_PARAMETER = "aff"


def partner_from(record: Mapping[str, Any]) -> RemotePartner:
    """A partner record of any Partnero answer; its `id` is also its tenant id."""
    raw_id = record.get("id")
    own_id = "" if raw_id is None else str(raw_id)
    key = referral_key(record)
    return RemotePartner(
        id=own_id,
        email=record.get("email"),
        tenant_id=own_id or None,
        created_at=record.get("created_at"),
        codes=(key,) if key else (),
    )


def referral_key(record: Mapping[str, Any]) -> str | None:
    """The partner's referral key: `key` where the record has it (older docs show it in the
    list), else the `aff` parameter of its `referral_link`, which carries the key."""
    key = record.get("key")
    if isinstance(key, str) and key:
        return key
    link = record.get("referral_link")
    if not isinstance(link, str):
        return None
    values = parse_qs(urlsplit(link).query).get(REFERRAL_PARAMETER)
    return values[0] if values else None


def parse_page(body: Any) -> Page:
    """One page of GET /v1/partners: `{data: [...], links: {next}, meta, status}`.

    Raises:
        RetryableProviderError: the answer is not a page.
    """
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise unexpected_answer("partnero", "GET /v1/partners")
    links = body.get("links")
    has_next = isinstance(links, dict) and bool(links.get("next"))
    records = [record for record in data if isinstance(record, dict)]
    return Page(
        partners=[partner_from(record) for record in records],
        has_next=has_next,
        records=records,
    )


def record_of(body: Any, where: str) -> RemotePartner:
    return partner_from(data_record(body, where))


def data_record(body: Any, where: str) -> Mapping[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unexpected_answer("partnero", where)
    return data


# Laravel's `unique` rule says "has already been taken"; the seed page says "Email already
# exists", "ID already exists", "Key already exists". Either form is understood.
_TAKEN = re.compile(r"already (been )?taken|already exists", re.IGNORECASE)
_SEED_PAGE_FIELDS = {"email": "email", "id": "id", "key": "key"}


def taken_fields(body: Any) -> set[str]:
    """The fields a refusal says another partner already holds."""
    if not isinstance(body, dict):
        return set()
    errors = body.get("errors")
    if isinstance(errors, dict):
        return {
            str(field)
            for field, texts in errors.items()
            if any(_TAKEN.search(str(text)) for text in _as_list(texts))
        }
    message = str(body.get("message", ""))
    words = message.split()
    if words and _TAKEN.search(message):
        field = _SEED_PAGE_FIELDS.get(words[0].lower())
        return {field} if field else set()
    return set()


def first_error_field(body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and errors:
        return str(next(iter(errors)))
    return None


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def message_of(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:200]
