"""Dub's createPartnerSchema and list-query schema, checked the way its zod 4 schemas check them.

Dub reports only the first zod issue, as "<code>: <path>: <message>". Messages follow zod 4's
English locale (Dub's routes import "zod/v4"). Keys are checked in the schema's declaration
order and each key's checks in chain order, so the first failure found here is the first
issue zod would list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

PAGE_SIZE_MAX = 100
STATUSES = (
    "pending",
    "approved",
    "rejected",
    "invited",
    "declined",
    "deactivated",
    "banned",
    "archived",
)
METRICS = (
    "totalClicks",
    "totalLeads",
    "totalConversions",
    "totalSaleAmount",
    "totalCommissions",
    "netRevenue",
    "earningsPerClick",
    "averageLifetimeValue",
    "clickToLeadRate",
    "clickToConversionRate",
    "leadToConversionRate",
    "returnOnAdSpend",
)
SORT_FIELDS = ("createdAt", *METRICS)
# Older names the route still accepts and maps onto the current ones.
SORT_ALIASES = {
    "clicks": "totalClicks",
    "leads": "totalLeads",
    "conversions": "totalConversions",
    "sales": "totalSaleAmount",
    "saleAmount": "totalSaleAmount",
    "totalSales": "totalSaleAmount",
}

# zod 4's default email pattern (z.email()).
_EMAIL = re.compile(
    r"(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}"
)
# Dub's validKeyRegex allows these ASCII characters; \p{Emoji} adds '#', '*' and the digits.
_KEY_ASCII = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_/-.#*")
USERNAME_MESSAGE = "Invalid username. Must be a URL-friendly string."

_MISSING = object()


class Issue(Exception):
    """The first zod issue of a request, rendered the way Dub's error message shows it."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(f"{code}: {path}: {message}" if path else f"{code}: {message}")
        self.code = code
        self.path = path


def utf16_len(text: str) -> int:
    """Length as JavaScript counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def js_type(value: object) -> str:
    """The type name zod 4 reports as "received"."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_issue(path: str, expected: str, value: object) -> Issue:
    return Issue(
        "invalid_type", path, f"Invalid input: expected {expected}, received {js_type(value)}"
    )


def _string(
    body: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    nullable: bool = True,
    trim: bool = False,
    min_len: int | None = None,
    max_len: int | None = None,
) -> object:
    """Check one string field; returns the value to store (trimmed if the schema trims)."""
    value = body.get(key, _MISSING)
    if value is _MISSING:
        if required:
            raise _type_issue(path, "string", value)
        return _MISSING
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _type_issue(path, "string", value)
    text = value.strip() if trim else value
    if min_len is not None and utf16_len(text) < min_len:
        raise Issue("too_small", path, f"Too small: expected string to have >={min_len} characters")
    if max_len is not None and utf16_len(text) > max_len:
        raise Issue("too_big", path, f"Too big: expected string to have <={max_len} characters")
    return text


def _boolean(body: Mapping[str, Any], key: str, path: str) -> object:
    value = body.get(key, _MISSING)
    if value is _MISSING or isinstance(value, bool):
        return value
    raise _type_issue(path, "boolean", value)


def valid_username(username: str) -> bool:
    """Dub's validKeyRegex plus its reserved prefixes and extensions."""
    if not username or username.startswith("_") or username.startswith(".well-known"):
        return False
    if username.endswith(".php") or username.endswith(".php7"):
        return False
    for char in username:
        point = ord(char)
        if char in _KEY_ASCII or 0x80 <= point <= 0xFFFF:
            continue
        # Beyond the BMP only emoji pass; symbol characters are the close match.
        if point > 0xFFFF and unicodedata.category(char) == "So":
            continue
        return False
    return True


def _email(body: Mapping[str, Any]) -> str:
    value = body.get("email", _MISSING)
    if not isinstance(value, str):
        raise _type_issue("email", "string", value)
    # The format is checked on the raw value, before trim: " a@b.co " is refused.
    if not _EMAIL.fullmatch(value):
        raise Issue("invalid_format", "email", "Invalid email address")
    email = value.strip()
    if utf16_len(email) > 190:
        raise Issue("too_big", "email", "Too big: expected string to have <=190 characters")
    return email


def _tag_list(body: Mapping[str, Any], key: str, path: str) -> object:
    value = body.get(key, _MISSING)
    if value is _MISSING or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise Issue("invalid_union", path, "Invalid input")


def _test_variants(props: Mapping[str, Any]) -> object:
    path = "linkProps.testVariants"
    value = props.get("testVariants", _MISSING)
    if value is _MISSING or value is None:
        return value
    if not isinstance(value, list):
        raise _type_issue(path, "array", value)
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise _type_issue(item_path, "object", item)
        url = item.get("url", _MISSING)
        if not isinstance(url, str):
            raise _type_issue(f"{item_path}.url", "string", url)
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Issue("invalid_format", f"{item_path}.url", "Invalid URL")
        percentage = item.get("percentage", _MISSING)
        if isinstance(percentage, bool) or not isinstance(percentage, int | float):
            raise _type_issue(f"{item_path}.percentage", "number", percentage)
        if percentage < 10:
            raise Issue(
                "too_small", f"{item_path}.percentage", "Too small: expected number to be >=10"
            )
        if percentage > 90:
            raise Issue("too_big", f"{item_path}.percentage", "Too big: expected number to be <=90")
    # zod checks the elements before the array's own length.
    if len(value) < 2:
        raise Issue("too_small", path, "Too small: expected array to have >=2 items")
    if len(value) > 4:
        raise Issue("too_big", path, "Too big: expected array to have <=4 items")
    # No sum-to-100 check: none was found on Dub's side.
    return value


# linkProps keys in schema order, with the kind of check each gets.
_LINK_FIELDS = (
    ("prefix", "string"),
    ("archived", "boolean"),
    ("tagIds", "tags"),
    ("tagNames", "tags"),
    ("comments", "nullish"),
    ("expiresAt", "nullish"),
    ("expiredUrl", "nullish"),
    ("password", "nullish"),
    ("proxy", "boolean"),
    ("title", "nullish"),
    ("description", "nullish"),
    ("image", "nullish"),
    ("video", "nullish"),
    ("rewrite", "boolean"),
    ("ios", "nullish"),
    ("android", "nullish"),
    ("doIndex", "boolean"),
    ("testVariants", "variants"),
    ("testStartedAt", "nullish"),
    ("testCompletedAt", "nullish"),
)


def _link_props(body: Mapping[str, Any]) -> dict[str, Any] | None:
    props = body.get("linkProps", _MISSING)
    if props is _MISSING:
        return None
    if not isinstance(props, dict):
        raise _type_issue("linkProps", "object", props)
    clean: dict[str, Any] = {}

    def keep(key: str, value: object) -> None:
        if value is not _MISSING:
            clean[key] = value

    external = _string(
        props, "externalId", "linkProps.externalId", trim=True, min_len=1, max_len=255
    )
    if isinstance(external, str) and external.startswith("ext_"):
        external = external[len("ext_") :]
    keep("externalId", external)
    keep("tenantId", _string(props, "tenantId", "linkProps.tenantId", max_len=255))
    for key, kind in _LINK_FIELDS:
        path = f"linkProps.{key}"
        if kind == "string":
            keep(key, _string(props, key, path, nullable=False))
        elif kind == "nullish":
            keep(key, _string(props, key, path))
        elif kind == "boolean":
            keep(key, _boolean(props, key, path))
        elif kind == "tags":
            keep(key, _tag_list(props, key, path))
        else:
            keep(key, _test_variants(props))
    return clean


def parse_create_body(body: object) -> dict[str, Any]:
    """Validate a POST /partners body; returns the cleaned fields or raises the first Issue."""
    if not isinstance(body, dict):
        raise _type_issue("", "object", body)
    clean: dict[str, Any] = {"email": _email(body)}
    name = _string(body, "name", "name", trim=True, max_len=100)
    username = _string(body, "username", "username", max_len=100)
    # The refine is skipped for falsy values: an empty username is accepted.
    if isinstance(username, str) and username and not valid_username(username):
        raise Issue("custom", "username", USERNAME_MESSAGE)
    image = _string(body, "image", "image")
    # tenantId is optional but not nullable: null is refused, "" is accepted as a value.
    tenant_id = _string(body, "tenantId", "tenantId", nullable=False)
    group_id = _string(body, "groupId", "groupId", nullable=False)
    # Documented as a 2-letter ISO code, but the server does not check the format.
    country = _string(body, "country", "country")
    description = _string(body, "description", "description", max_len=5000)
    link_props = _link_props(body)
    for key, value in (
        ("name", name),
        ("username", username),
        ("image", image),
        ("tenantId", tenant_id),
        ("groupId", group_id),
        ("country", country),
        ("description", description),
    ):
        clean[key] = None if value is _MISSING else value
    clean["linkProps"] = link_props
    return clean


def _js_number(raw: str) -> float:
    """JavaScript's Number(raw), as z.coerce.number() applies it: blank text is 0."""
    text = raw.strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _positive_int(raw: str | None, path: str, default: int, what: str) -> int:
    """z.coerce.number().int().positive(), each with Dub's own message."""
    if raw is None:
        return default
    number = _js_number(raw)
    if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite
        raise Issue("invalid_type", path, f"{what} must be a number.")
    if number != int(number):
        raise Issue("invalid_type", path, f"{what} must be an integer.")
    if number <= 0:
        raise Issue("too_small", path, f"{what} must be greater than 0.")
    return int(number)


def parse_page(raw: str | None) -> int:
    return _positive_int(raw, "page", 1, "Page")


def parse_page_size(raw: str | None) -> int:
    size = _positive_int(raw, "pageSize", PAGE_SIZE_MAX, "Page size")
    if size > PAGE_SIZE_MAX:
        raise Issue("too_big", "pageSize", f"Max page size is {PAGE_SIZE_MAX}.")
    return size


def _options(values: tuple[str, ...]) -> str:
    return "|".join(f'"{value}"' for value in values)


def parse_choice(
    raw: str | None, path: str, values: tuple[str, ...], default: str | None
) -> str | None:
    """An enum query parameter; zod's invalid_value issue for anything outside `values`."""
    if raw is None:
        return default
    if raw not in values:
        raise Issue("invalid_value", path, f"Invalid option: expected one of {_options(values)}")
    return raw


def parse_sort_by(raw: str | None) -> str:
    if raw is None:
        return "totalSaleAmount"
    if raw in SORT_ALIASES:
        return SORT_ALIASES[raw]
    if raw not in SORT_FIELDS:
        # The route's schema is `sortBy.or(z.enum(aliases))`: a union, whose issue says only this.
        raise Issue("invalid_union", "sortBy", "Invalid input")
    return raw


def parse_link_body(body: object) -> dict[str, Any]:
    """Validate a POST /partners/links body (createPartnerLinkSchema); the first Issue fails."""
    if not isinstance(body, dict):
        raise _type_issue("", "object", body)
    fields = {
        "partnerId": _string(body, "partnerId", "partnerId"),
        "tenantId": _string(body, "tenantId", "tenantId"),
        "url": _string(body, "url", "url"),
        "key": _string(body, "key", "key", nullable=False, max_len=190),
        "comments": _string(body, "comments", "comments"),
    }
    clean: dict[str, Any] = {
        key: None if value is _MISSING else value for key, value in fields.items()
    }
    clean["linkProps"] = _link_props(body)
    return clean
