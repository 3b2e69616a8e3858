"""Dub's partner usernames, link keys, links and groups (providers.md §6).

Dub generates a partner's `username` itself; the `username` a create sends only seeds the
partner's default link key, and a key taken in the program silently gets a `-xxxx` suffix.
The referral code of a Dub partner is therefore its link key.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.sandbox.base import LOWER_ALNUM, UPPER_ALNUM, random_id

LINK_DOMAIN = "refer.sandbox.dub"
PROGRAM_URL = "https://sandbox.example.com"
KEY_MAX = 190
# The links routes pass the limiter's X-RateLimit-* headers on to their success answers too
# (providers.md §1.6), unlike the partner routes.
FORWARDING_LIMIT_HEADERS = frozenset({"/partners/links"})
# The link metrics Dub's ProgramPartnerLinkSchema carries next to the key.
_LINK_METRICS = ("clicks", "leads", "conversions", "sales", "saleAmount")
# @sindresorhus/slugify's default replacements, applied before transliteration.
_REPLACEMENTS = (("&", " and "), ("🦄", " unicorn "), ("♥", " love "))
# @sindresorhus/slugify's decamelize step ("fooBar" -> "foo Bar"), in its order.
_DECAMELIZE = (
    (re.compile(r"([A-Z]{2,})(\d+)"), r"\1 \2"),
    (re.compile(r"([a-z\d]+)([A-Z]{2,})"), r"\1 \2"),
    (re.compile(r"([a-z\d])([A-Z])"), r"\1 \2"),
    (re.compile(r"([A-Z]+)([A-Z][a-rt-z\d]+)"), r"\1 \2"),
)


def slugify(text: str) -> str:
    """Close to @sindresorhus/slugify: "Liam O'Connor" -> "liam-o-connor", "fooBar" -> "foo-bar".

    Transliteration is approximated by dropping accents; characters with no ASCII form vanish.
    """
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    for pattern, replacement in _DECAMELIZE:
        text = pattern.sub(replacement, text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def suffix(rng: random.Random) -> str:
    """Dub's `nanoid(4).toLowerCase()`: what it appends to a taken username or key."""
    return random_id(rng, LOWER_ALNUM, 4)


def generated_username(rng: random.Random, name: str | None, email: str, taken: set[str]) -> str:
    """generatePartnerUsername: slugify(name or email) + "-xxxx", unique among partners."""
    base = slugify(name or email) or random_id(rng, LOWER_ALNUM, 7)
    username = f"{base}-{suffix(rng)}"
    while username in taken:
        username = f"{base}-{suffix(rng)}"
    return username


def default_key_base(username: str | None, name: str | None, email: str) -> str:
    """derivePartnerLinkKey: the sent username, else slugify(name), else the email's local part."""
    if username:
        return username
    if name:
        return slugify(name)
    return slugify(email.split("@")[0])


def processed_key(key: str) -> str:
    """processKey on a custom domain: leading and trailing slashes go."""
    return key.strip("/")


class LinkKeys:
    """The link keys taken on the program's domain.

    Assumption (unconfirmed): keys compare case-insensitively, as MySQL's default collation
    compares the `key` column of Dub's unique (domain, key) index.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._taken

    def claim(self, key: str) -> None:
        self._taken.add(key.lower())

    def claim_free(self, rng: random.Random, wanted: str) -> str:
        """generatePartnerLink: the wanted key, with `-xxxx` appended while it is taken."""
        key = wanted or random_id(rng, LOWER_ALNUM, 7)
        while key in self:
            key = f"{key}-{suffix(rng)}"
        self.claim(key)
        return key


def link_record(rng: random.Random, key: str, url: str | None = None) -> dict[str, Any]:
    """A partner link as an enrolment's `links[]` carries it (ProgramPartnerLinkSchema)."""
    return {
        "id": "link_" + random_id(rng, UPPER_ALNUM, 24),
        "domain": LINK_DOMAIN,
        "key": key,
        "shortLink": f"https://{LINK_DOMAIN}/{key}",
        "url": url or PROGRAM_URL,
        **{metric: 0 for metric in _LINK_METRICS},
    }


def full_link(
    link: Mapping[str, Any], enrolment: Mapping[str, Any], created_at: str, comments: str | None
) -> dict[str, Any]:
    """The link as POST /partners/links answers it: Dub's whole link object."""
    return {
        **link,
        "programId": enrolment["programId"],
        "partnerId": enrolment["partnerId"],
        "tenantId": enrolment["tenantId"],
        "externalId": None,
        "trackConversion": True,
        "archived": False,
        "comments": comments,
        "tags": [],
        "createdAt": created_at,
        "updatedAt": created_at,
    }


@dataclass(frozen=True)
class Group:
    """A partner group: its id, its slug (unique per program) and the program it belongs to."""

    id: str
    slug: str
    program_id: str


class Groups:
    """The groups a groupId can name: by `grp_…` id (any program) or by slug (this program)."""

    def __init__(self, rng: random.Random, program_id: str) -> None:
        self.program_id = program_id
        self._by_id: dict[str, Group] = {}
        self.default = self.add("grp_" + random_id(rng, UPPER_ALNUM, 24), "default")

    def add(self, group_id: str, slug: str, program_id: str | None = None) -> Group:
        group = Group(group_id, slug, program_id or self.program_id)
        if group_id in self._by_id or self.find(slug) is not None:
            raise ValueError(f"group {group_id!r} (slug {slug!r}) already exists")
        self._by_id[group_id] = group
        return group

    def add_given(self, fields: Mapping[str, Any], what: str) -> Group:
        """A group a sandbox is set up with: `id` and/or `slug`, and optionally `programId`."""
        group_id, slug = fields.get("id"), fields.get("slug")
        program = fields.get("programId")
        if group_id is not None and (
            not isinstance(group_id, str) or not group_id.startswith("grp_")
        ):
            raise ValueError(f"{what}: id must be a string starting with grp_")
        if slug is not None and not isinstance(slug, str):
            raise ValueError(f"{what}: slug must be a string")
        if program is not None and not isinstance(program, str):
            raise ValueError(f"{what}: programId must be a string")
        if group_id is None and slug is None:
            raise ValueError(f"{what}: needs an id (grp_…) or a slug")
        group_id = group_id or f"grp_{slugify(str(slug)).upper() or 'GROUP'}"
        return self.add(group_id, slug or group_id.lower(), program)

    def find(self, value: str) -> Group | None:
        """getGroupOrThrow's lookup: an id is global, a slug is looked up in this program."""
        if value.startswith("grp_"):
            return self._by_id.get(value)
        for group in self._by_id.values():
            if group.slug == value and group.program_id == self.program_id:
                return group
        return None

    def ensure(self, value: str) -> Group:
        """The group a seed record names, created in this program when it is new."""
        found = self.find(value)
        if found is not None:
            return found
        if value.startswith("grp_"):
            return self.add(value, value.lower())
        return self.add("grp_" + slugify(value).upper(), value)
