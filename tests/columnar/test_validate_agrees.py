"""The column validator and pydantic, one row at a time, agree on every row and every payload."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from sync.columnar.validate import validate_frame
from sync.mapping import bind_mapping, identity_mapping, load_mapping, parse_mapping
from sync.models import Row, trim
from sync.providers.dub import Dub
from sync.providers.fields import Email, TrimmedStr, max_utf16
from sync.providers.partnero import Partnero
from sync.providers.promotekit import PromoteKit
from sync.validate import validate_rows

from .strategies import (
    cell,
    countries,
    descriptions,
    emails,
    maybe,
    mostly,
    names,
    padded,
    tenants,
    usernames,
)

# Agreement of the two cores over many generated cases: the long tier (`pytest -m slow`).
pytestmark = pytest.mark.slow

DUB = Dub()
ROOT = Path(__file__).resolve().parents[2]
DUB_FIELDS = {
    "email": emails,
    "name": names,
    "username": usernames,
    "tenantId": tenants,
    "country": countries,
    "description": descriptions,
}
ROSTER_COLUMNS = {
    "email": emails,
    "first_name": padded,
    "last_name": padded,
    "tenant_id": tenants,
    "username": usernames,
    "country": countries,
    "description": descriptions,
    "tags": cell,
    "external_id": cell,
}


def rows_of(columns: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[dict]]:
    record = st.fixed_dictionaries(
        {
            # The email is required: an empty one makes the whole row invalid, so keep it rare.
            name: mostly(values, st.none()) if name == "email" else maybe(values)
            for name, values in columns.items()
        }
    )
    return st.lists(record, min_size=1, max_size=6)


def both(records: list[dict], mapping, schema, tenant_field):
    frame = pl.DataFrame(records, schema={name: pl.String for name in records[0]})
    rows = [Row(number, values) for number, values in enumerate(records, start=1)]
    return (
        validate_frame(frame, mapping, schema, tenant_field),
        validate_rows(rows, mapping, schema, tenant_field),
    )


def pydantic_accepts(schema, payload) -> bool:
    try:
        schema.model_validate(payload)
    except ValidationError:
        return False
    return True


def check_agreement(records, mapping, schema, tenant_field):
    columns, rows = both(records, mapping, schema, tenant_field)
    assert [(c.row, c.email, c.tenant_id, c.payload) for c in columns.candidates()] == [
        (c.row, c.email, c.tenant_id, c.payload) for c in rows.candidates
    ]
    assert columns.invalid == rows.invalid
    valid = {candidate.row for candidate in rows.candidates}
    assert set(columns.accepted_in_columns()) <= valid  # never accepts what pydantic refuses
    return columns, rows


@settings(max_examples=200, deadline=None)
@given(rows_of(DUB_FIELDS))
def test_dub_fields_agree_and_columns_decide_every_text_row(records):
    mapping = bind_mapping(identity_mapping(), list(records[0]), DUB.known_fields())
    columns, rows = check_agreement(records, mapping, DUB.schema, DUB.tenant_field)
    # Every field here is understood: the columns accept a row iff pydantic does.
    assert set(columns.accepted_in_columns()) == {candidate.row for candidate in rows.candidates}


@settings(max_examples=150, deadline=None)
@given(rows_of(ROSTER_COLUMNS))
def test_default_dub_mapping_agrees(records):
    spec = load_mapping(ROOT / "mappings" / "dub.toml")
    mapping = bind_mapping(spec, list(records[0]), DUB.known_fields())
    columns, rows = check_agreement(records, mapping, DUB.schema, DUB.tenant_field)
    # "split" trims each tag with models.trim(), which is str.strip() on ASCII text: rows with
    # tags beyond ASCII are validated one by one; every other valid row by the columns.
    with_tags = {
        number
        for number, record in enumerate(records, start=1)
        if record["tags"] is not None and trim(record["tags"]) and not record["tags"].isascii()
    }
    accepted = set(columns.accepted_in_columns())
    valid = {candidate.row for candidate in rows.candidates}
    assert accepted == valid - with_tags


def _shout(value: str) -> str:
    if value != value.upper():
        raise ValueError("must be upper case")
    return value


class Affiliate(BaseModel):
    """A provider model in the style of the others, with checks the columns do not know."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    first_name: Annotated[TrimmedStr, AfterValidator(max_utf16(5))]
    code: Annotated[str, AfterValidator(_shout)] | None = None  # a custom validator
    approved: bool | None = None  # read from text as pydantic reads it
    payout_email: Email | None = None


AFFILIATE_COLUMNS = {
    "email": emails,
    "first_name": names,
    "code": st.sampled_from(["AB", "ab", " X "]),
    "approved": st.sampled_from(["true", "no", "maybe"]),
    "payout_email": emails,
}


@settings(max_examples=150, deadline=None)
@given(rows_of(AFFILIATE_COLUMNS))
def test_unknown_checks_fall_back_to_pydantic_for_the_rows_concerned(records):
    known = list(Affiliate.model_fields)
    mapping = bind_mapping(identity_mapping(), list(records[0]), known)
    columns, rows = check_agreement(records, mapping, Affiliate, None)
    for number in columns.accepted_in_columns():
        assert not (records[number - 1]["code"] or "").strip()
    expected = {
        candidate.row
        for candidate in rows.candidates
        if not (records[candidate.row - 1]["code"] or "").strip()
    }
    assert set(columns.accepted_in_columns()) == expected


class Checked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: str | None = None

    @model_validator(mode="after")
    def _no_bob(self) -> Checked:
        if self.name == "Bob":
            raise ValueError("no Bob")
        return self


def test_a_model_wide_validator_sends_every_row_to_pydantic():
    records = [{"email": "a@example.com", "name": "Bob"}, {"email": "b@example.com", "name": "A"}]
    mapping = bind_mapping(identity_mapping(), ["email", "name"], ["email", "name"])
    columns, _ = check_agreement(records, mapping, Checked, None)
    assert columns.accepted_in_columns() == []
    assert [outcome.row for outcome in columns.invalid] == [1]


@pytest.mark.parametrize("value", ["", "ok"])
def test_required_field_missing_from_the_mapping_is_reported_by_pydantic(value):
    records = [{"name": value}]
    mapping = bind_mapping(identity_mapping(), ["name"], DUB.known_fields())
    columns, _ = check_agreement(records, mapping, DUB.schema, DUB.tenant_field)
    assert columns.invalid[0].field == "email"


COALESCE_MAPPING = """
provider = "dub"

[fields.email]
column = ["email"]
transforms = ["trim"]

[fields.tenantId]
coalesce = ["external_id", "source_id"]
optional = true

[fields.name]
join = ["first_name", "last_name"]
optional = true
"""


@settings(max_examples=200, deadline=None)
@given(
    rows_of(
        {
            "EMAIL": emails,
            "External_ID": tenants,
            "source_id": tenants,
            "First_Name": padded,
            "last_name": padded,
        }
    )
)
def test_coalesce_rules_and_columns_found_regardless_of_case_agree(records):
    spec = parse_mapping(tomllib.loads(COALESCE_MAPPING), source="coalesce.toml", digest="d")
    mapping = bind_mapping(spec, list(records[0]), DUB.known_fields())
    check_agreement(records, mapping, DUB.schema, DUB.tenant_field)


@settings(max_examples=100, deadline=None)
@given(rows_of(DUB_FIELDS), st.data())
def test_rows_the_reader_could_not_split_are_invalid_as_the_row_path_says(records, data):
    problems = {
        number: "has 3 fields, the header has 6"
        for number in data.draw(st.sets(st.integers(1, len(records))))
    }
    mapping = bind_mapping(identity_mapping(), list(records[0]), DUB.known_fields())
    frame = pl.DataFrame(records, schema={name: pl.String for name in records[0]})
    rows = [
        Row(number, values, problems.get(number)) for number, values in enumerate(records, start=1)
    ]
    columns = validate_frame(frame, mapping, DUB.schema, DUB.tenant_field, problems)
    expected = validate_rows(rows, mapping, DUB.schema, DUB.tenant_field)
    assert columns.invalid == expected.invalid
    assert [c.row for c in columns.candidates()] == [c.row for c in expected.candidates]
    assert not set(columns.accepted_in_columns()) & set(problems)


PARTNERO = Partnero()
PROMOTEKIT = PromoteKit()


@settings(max_examples=200, deadline=None)
@given(
    rows_of(
        {
            "email": emails,
            "name": names,
            "surname": padded,
            "key": usernames,
            "password": mostly(st.text(alphabet="aB1!x", min_size=6, max_size=12), cell),
        }
    )
)
def test_partnero_fields_agree_and_the_columns_decide_every_row(records):
    mapping = bind_mapping(identity_mapping(), list(records[0]), PARTNERO.known_fields())
    columns, rows = check_agreement(records, mapping, PARTNERO.schema, PARTNERO.tenant_field)
    assert set(columns.accepted_in_columns()) == {candidate.row for candidate in rows.candidates}
    invitation = PARTNERO.invite_schema
    assert invitation is not None
    check_agreement(records, mapping, invitation, None)


@settings(max_examples=150, deadline=None)
@given(
    rows_of(
        {
            "email": emails,
            "first_name": padded,
            "last_name": padded,
            "payout_email": emails,
            "ref_code": usernames,
        }
    )
)
def test_promotekit_fields_agree(records):
    mapping = bind_mapping(identity_mapping(), list(records[0]), PROMOTEKIT.known_fields())
    check_agreement(records, mapping, PROMOTEKIT.schema, PROMOTEKIT.tenant_field)
