"""The provider-neutral partner: what a migration carries from one platform to another.

A source provider turns each of its partner records into these columns; a direction mapping
(`mappings/SOURCE-to-TARGET.toml`) turns the columns into the target's fields. Columns are text,
empty when the source has no value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping

NEUTRAL_FIELDS: dict[str, str] = {
    "source_id": "the partner's id at the source platform",
    "email": "the partner's email",
    "name": "full name",
    "first_name": "given name",
    "last_name": "family name",
    "external_id": "the user's own id for the partner stored at the source (Dub tenantId, "
    "Partnero id)",
    "username": "the referral handle or code (Dub username, Partnero key, PromoteKit ref_code)",
    "country": "ISO 3166-1 alpha-2 country",
    "description": "free text about the partner",
    "tags": "comma-separated tags",
    "payout_email": "where payouts go",
    "promo_code": "a coupon code tied to the partner",
    "status": "the partner's status at the source",
    "created_at": "when the partner joined the source program",
}


# One name in three columns: carrying any of them carries the name.
NAME_COLUMNS = frozenset({"name", "first_name", "last_name"})


def neutral_row(**values: object) -> dict[str, str | None]:
    """A complete neutral row: every column present, blanks as None, names filled both ways."""
    row: dict[str, str | None] = {name: _text(values.get(name)) for name in NEUTRAL_FIELDS}
    if row["name"] is None and (row["first_name"] or row["last_name"]):
        row["name"] = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    if row["name"] and row["first_name"] is None and row["last_name"] is None:
        first, _, last = row["name"].partition(" ")
        row["first_name"], row["last_name"] = first or None, last.strip() or None
    return row


def tags_text(tags: Iterable[object]) -> str | None:
    """Tags as one comma-separated cell, from strings or {name|value: ...} objects."""
    names = []
    for tag in tags:
        if isinstance(tag, Mapping):
            tag = tag.get("name") or tag.get("value")
        if isinstance(tag, str) and tag.strip():
            names.append(tag.strip().replace(",", " "))
    return ",".join(names) or None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.strip() or None


def snapshot_csv(rows: Iterable[Mapping[str, str | None]]) -> str:
    """Neutral rows as CSV text, columns in NEUTRAL_FIELDS order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NEUTRAL_FIELDS)
    for row in rows:
        writer.writerow([row.get(name) or "" for name in NEUTRAL_FIELDS])
    return buffer.getvalue()


def lost_in_migration(
    filled: Callable[[str], int],
    total: int,
    unused_columns: Iterable[str],
    unportable: Mapping[str, str],
) -> list[str]:
    """What a migration will not carry across, field by field, for the plan to say.

    Args:
        filled: how many of the neutral rows read from the source have a value in a column.
        total: how many rows were read.
        unused_columns: neutral columns the direction mapping does not use.
        unportable: what the source keeps by nature (links, statistics, passwords), and why.
    """
    unused = set(unused_columns)
    if not unused >= NAME_COLUMNS:
        unused -= NAME_COLUMNS  # the name is carried, whole or in parts
    lost = []
    for column in [name for name in NEUTRAL_FIELDS if name in unused]:
        if column in ("source_id", "status", "created_at"):
            continue
        holding = filled(column)
        if holding:
            lost.append(
                f"{column}: {holding} of {total} partners have one; the target has no field for it"
            )
    lost.extend(f"{name}: {why}" for name, why in unportable.items())
    return lost
