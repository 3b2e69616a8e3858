"""Every provider's schema compiles to column checks: no provider falls back to pydantic silently.

For each provider model, every field is listed with what the columns make of it, and the few that
only pydantic can judge are named here with why. Then rows that vary each field in turn (good
values and bad ones) go through the column checks and through pydantic: both accept the same
rows, the payloads are pydantic's own dump, and pydantic is asked only about rows it refuses.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from sync.mapping import set_path
from sync.mapping_spec import bind_mapping, identity_mapping
from sync.models import trim
from sync.providers.dub import Dub
from sync.providers.fields import Email
from sync.providers.partnero import Partnero
from sync.providers.promotekit import PromoteKit
from sync.row_messages import find_control_character
from sync.schema_checks import column_schema
from sync.sources.table import numbered
from sync.validate import validate_frame

DUB, PARTNERO, PROMOTEKIT = Dub(), Partnero(), PromoteKit()
assert PARTNERO.invite_schema is not None
WHOLE_OBJECT = "a whole object (a json value): pydantic judges it"

# The only fields whose values the columns leave to pydantic, and why. A mapping produces them
# only with its `json` transform, whose values are objects, not columns of text.
NOT_COMPILED: dict[type[BaseModel], dict[str, str]] = {
    DUB.schema: {
        "linkProps": WHOLE_OBJECT,
        # A list of {url, percentage} objects: only a json value can hold one.
        "linkProps.testVariants": "a type the columns do not check",
    },
    PARTNERO.schema: {"referring_partner": WHOLE_OBJECT},
    PARTNERO.invite_schema: {},
    PROMOTEKIT.schema: {},
}


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of `model`, nested models' fields dotted, the object itself included."""
    paths = []
    for name, info in model.model_fields.items():
        path = prefix + name
        paths.append(path)
        annotation = info.annotation
        for option in getattr(annotation, "__args__", (annotation,)):
            if isinstance(option, type) and issubclass(option, BaseModel):
                paths.extend(leaf_paths(option, path + "."))
    return paths


@pytest.mark.parametrize("model", list(NOT_COMPILED), ids=lambda model: model.__name__)
def test_every_field_compiles_but_the_listed_ones(model):
    schema = column_schema(model)
    assert schema.why_not is None  # the model as a whole is understood
    listed = set(schema.leaves) | set(schema.whole)
    assert listed == set(leaf_paths(model))  # no field is forgotten
    assert schema.uncompiled() == NOT_COMPILED[model]


def test_defaults_are_sent_from_the_columns():
    schema = column_schema(PROMOTEKIT.schema)
    assert schema.leaves["approved"].default is True
    assert schema.leaves["new_paid_referral_notifications"].default is True


def payload_of(record: dict[str, str | None]) -> dict[str, Any]:
    """What the identity mapping makes of a record: blank cells give no key."""
    payload: dict[str, Any] = {}
    for name, value in record.items():
        if value is not None and trim(value):
            set_path(payload, name, value)
    return payload


def pydantic_dump(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any] | None:
    """What pydantic sends of `payload`, None when it refuses it (or it holds a control
    character, which no provider field may)."""
    if find_control_character(payload) is not None:
        return None
    try:
        return model.model_validate(payload).model_dump(exclude_none=True)
    except ValidationError:
        return None


def check_agreement(
    model: type[BaseModel], tenant_field: str | None, records: list[dict], known: list[str]
) -> None:
    cells = pl.DataFrame(records, schema={name: pl.String for name in records[0]})
    mapping = bind_mapping(identity_mapping(), cells.columns, known)
    frame = numbered(cells)
    validated = validate_frame(frame, mapping, model, tenant_field)
    expected = {
        number: dump
        for number, record in enumerate(records, start=1)
        if (dump := pydantic_dump(model, payload_of(record))) is not None
    }
    got = {candidate.row: candidate.payload for candidate in validated.candidates()}
    assert got == expected
    # pydantic was asked only about the rows it refuses: every valid row passed the columns.
    assert validated.accepted_in_columns() == sorted(expected)
    assert validated.checked_one_by_one == len(records) - len(expected)


def varied(base: dict[str, str | None], values: dict[str, list[str | None]]) -> list[dict]:
    """The base row, then one row per value of each field, the other fields as in `base`."""
    rows = [dict(base)]
    for name, options in values.items():
        rows.extend({**base, name: option} for option in options)
    return rows


TEXTS = ["Ann", "  Ann  ", "\u200bAnn", "", "   ", "a\nb", "x" * 256, "Zoë 🎉", "a\x00b"]

DUB_ROWS = varied(
    {
        "email": "ann@example.com",
        "name": "Ann",
        "username": "ann",
        "tenantId": "crm-1",
        "country": "US",
        "description": "Blogger",
        "image": None,
        "groupId": None,
        "linkProps.externalId": None,
        "linkProps.tagNames": None,
        "linkProps.archived": None,
    },
    {
        "email": [" ann@example.com ", "ann@@example.com", "änn@example.com", "a" * 250 + "@b.co"],
        # At the limit and past it, counted in bytes, characters and UTF-16 units.
        "name": [*TEXTS, "x" * 100, "x" * 101, "é" * 100, "é" * 101, "🎉" * 50, "🎉" * 51],
        "username": ["a/b-c.d_e", "_ann", ".well-known", "ann.php", "a b", "ü", "x" * 101],
        "tenantId": [" crm ", "a\nb", "x" * 192],
        "country": ["DE", "de", "Austria", "XX"],
        "description": ["x" * 5000, "x" * 5001, "🎉" * 2501],
        "image": ["https://example.com/a.png"],
        "groupId": ["grp_1"],
        "linkProps.externalId": ["ext-1", "x" * 256],
        "linkProps.tagNames": ["a,b"],
        "linkProps.archived": ["true", "No", "maybe", "TRUE"],
    },
)

PARTNERO_ROWS = varied(
    {
        "email": "ann@example.com",
        "name": "Ann",
        "surname": "Lee",
        "password": None,
        "id": "crm-1",
        "key": None,
        "tags": None,
        "referring_partner.email": None,
        "referring_partner.key": None,
    },
    {
        "email": ["x" * 250 + "@b.co", " ann@example.com "],
        "name": TEXTS,
        "surname": ["x" * 255, "x" * 256],
        "password": ["Abcdefg1", "abcdefg1", "ABCDEFG1", "Abcdefgh", "Ab1", "Ébcdéfg1", "ébcdéfg١"],
        "id": ["a/b", " crm-2 ", "x" * 256],
        "key": ["ann", "x" * 256],
        "tags": ["a, b", "a,,b, ", ",", "x" * 256, " \u200b , a", "é, ü"],
        "referring_partner.email": ["ref@example.com", "bad", " ref@example.com "],
        "referring_partner.key": ["ref"],
    },
)

PROMOTEKIT_ROWS = varied(
    {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "payout_email": None,
        "ref_code": None,
        "promo_code": None,
        "campaign_id": None,
        "approved": None,
        "details": None,
        "new_paid_referral_notifications": None,
    },
    {
        "first_name": ["", "  Ann ", "\u200b"],
        "last_name": [None],
        "payout_email": ["pay@example.com", "bad"],
        "ref_code": ["ann", " "],
        "promo_code": ["SAVE10"],
        "campaign_id": [
            "78614b6c-fe7c-41e2-8e25-c9b3a3c91904",
            " 78614B6C-FE7C-41E2-8E25-C9B3A3C91904 ",
            "78614b6cfe7c41e28e25c9b3a3c91904",
            "nope",
        ],
        "approved": ["true", "false", "yes", "0", "Off", "maybe", " true"],
        "details": ["anything\nat all"],
        "new_paid_referral_notifications": ["no", "2"],
    },
)


def test_dub_rows_are_decided_by_the_columns():
    check_agreement(DUB.schema, DUB.tenant_field, DUB_ROWS, DUB.known_fields())


def test_partnero_rows_are_decided_by_the_columns():
    check_agreement(PARTNERO.schema, PARTNERO.tenant_field, PARTNERO_ROWS, PARTNERO.known_fields())


def test_partnero_invitations_drop_the_fields_they_do_not_carry():
    check_agreement(PARTNERO.invite_schema, None, PARTNERO_ROWS, PARTNERO.known_fields())


def test_promotekit_rows_are_decided_by_the_columns():
    check_agreement(
        PROMOTEKIT.schema, PROMOTEKIT.tenant_field, PROMOTEKIT_ROWS, PROMOTEKIT.known_fields()
    )


def _shout(value: str) -> str:
    if value != value.upper():
        raise ValueError("must be upper case")
    return value


class Affiliate(BaseModel):
    """A model in the style of the providers', with a check the columns do not know."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    code: Annotated[str, AfterValidator(_shout)] | None = None


def test_a_check_the_columns_do_not_know_is_left_to_pydantic_for_the_rows_giving_it():
    assert column_schema(Affiliate).uncompiled() == {"code": "a check the columns do not know"}
    records = [
        {"email": "a@example.com", "code": "AB"},
        {"email": "b@example.com", "code": "ab"},
        {"email": "c@example.com", "code": None},
        {"email": "bad", "code": None},
    ]
    frame = numbered(pl.DataFrame(records, schema={"email": pl.String, "code": pl.String}))
    mapping = bind_mapping(identity_mapping(), ["email", "code"], list(Affiliate.model_fields))
    validated = validate_frame(frame, mapping, Affiliate, None)
    assert validated.accepted_in_columns() == [3]  # the row without a code
    assert [c.row for c in validated.candidates()] == [1, 3]  # row 1 by pydantic
    assert [(o.row, o.field) for o in validated.invalid] == [(2, "code"), (4, "email")]
    assert "must be upper case" in validated.invalid[0].message


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
    assert column_schema(Checked).why_not == "Checked has a model-wide validator"
    frame = numbered(
        pl.DataFrame({"email": ["a@example.com", "b@example.com"], "name": ["Bob", "A"]})
    )
    mapping = bind_mapping(identity_mapping(), ["email", "name"], ["email", "name"])
    validated = validate_frame(frame, mapping, Checked, None)
    assert validated.accepted_in_columns() == []
    assert [outcome.row for outcome in validated.invalid] == [1]
    assert [candidate.row for candidate in validated.candidates()] == [2]


@pytest.mark.parametrize("value", ["", "ok"])
def test_a_required_field_the_mapping_does_not_fill_is_reported_by_pydantic(value):
    frame = numbered(pl.DataFrame({"name": [value]}))
    mapping = bind_mapping(identity_mapping(), ["name"], DUB.known_fields())
    (outcome,) = validate_frame(frame, mapping, DUB.schema, DUB.tenant_field).invalid
    assert outcome.field == "email" and "is required" in outcome.message


def cells_like(rows: list[dict]) -> dict[str, st.SearchStrategy[str | None]]:
    """Per field, the values of the rows above, or awkward text near them."""
    odd = st.text(alphabet="aZ1 ,.-_/@\t\u00a0\u200bſKßé😀İ\x00\x85", max_size=10)
    return {
        name: st.one_of(st.sampled_from([row[name] for row in rows]), odd, st.none())
        for name in rows[0]
    }


@pytest.mark.parametrize(
    ("provider", "rows"),
    [(DUB, DUB_ROWS), (PARTNERO, PARTNERO_ROWS), (PROMOTEKIT, PROMOTEKIT_ROWS)],
    ids=["dub", "partnero", "promotekit"],
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_rows_are_decided_as_pydantic_decides(provider, rows, data):
    cells = st.fixed_dictionaries(cells_like(rows))
    records = data.draw(st.lists(cells, min_size=1, max_size=5))
    check_agreement(provider.schema, provider.tenant_field, records, provider.known_fields())
