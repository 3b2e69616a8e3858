"""Dub's list and count filters (GET /partners, GET /partners/count), parsed once per request and
applied per row, and the order its list sorts by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.sandbox import dub_schema as schema
from sync.sandbox.base import Request

# The filters that take a comma list (negated by a leading '-').
FILTER_LISTS = ("country", "groupId")
# One list filter's rule: negated, and its values; None filters nothing.
Rule = tuple[bool, set[str]] | None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a list or count request asks for; empty filters filter nothing (`?email=`)."""

    everything: bool  # no filter at all: every enrolment, in list order
    status: str | None
    lists: dict[str, Rule]
    email: str | None
    tenant: str | None
    search: str | None
    ids: set[str] | None

    @classmethod
    def of(cls, request: Request) -> ListFilter:
        """The request's filters.

        Raises:
            schema.Issue: a filter value Dub refuses (an unknown status).
        """
        status = schema.parse_choice(request.arg("status"), "status", schema.STATUSES, None)
        email = request.arg("email") or None
        ids_raw = request.arg("partnerIds")
        return cls(
            everything=unfiltered(request),
            status=status,
            lists={name: filter_value(request.arg(name)) for name in FILTER_LISTS},
            email=email,
            tenant=request.arg("tenantId") or None,
            search=request.arg("search") if email is None else None,
            ids={part for part in ids_raw.split(",") if part} if ids_raw else None,
        )

    def passes(self, row: Mapping[str, Any]) -> bool:
        """Whether the enrolment `row` meets every filter."""
        return (
            (self.status is None or row["status"] == self.status)
            and all(_passes(row.get(name), rule) for name, rule in self.lists.items())
            and (self.email is None or (row["email"] or "").lower() == self.email.lower())
            and (self.tenant is None or row["tenantId"] == self.tenant)
            and (self.ids is None or row["id"] in self.ids)
            and (not self.search or _search_hit(row, self.search))
        )


def unfiltered(request: Request) -> bool:
    """No filter at all: every enrolment, in list order. (An empty value filters nothing.)"""
    absent = ("status",)
    blank = ("email", "tenantId", "country", "groupId", "search", "partnerIds")
    return all(request.arg(name) is None for name in absent) and all(
        not request.arg(name) for name in blank
    )


def filter_value(raw: str | None) -> Rule:
    """Dub's parseFilterValue: a comma list, negated (NOT IN) by a leading '-'."""
    if raw is None or raw == "":
        return None
    negate = raw.startswith("-")
    values = {part for part in (raw[1:] if negate else raw).split(",") if part}
    return negate, values


def _passes(value: object, rule: Rule) -> bool:
    if rule is None:
        return True
    negate, values = rule
    return (value in values) != negate


def _search_hit(row: Mapping[str, Any], search: str) -> bool:
    if "@" in search:
        return (row["email"] or "").lower() == search.lower()
    if search.startswith("pn_"):
        return bool(row["id"] == search)
    needle = search.lower()
    haystack = (row["email"] or "", row["name"] or "", row["companyName"] or "")
    return any(needle in text.lower() for text in haystack)


def sort_key(value: object) -> tuple[int, Any]:
    """The list's order of one value: NULLs sort first in ascending order, as MySQL puts them."""
    if value is None:
        return (0, 0)
    return (1, value)
