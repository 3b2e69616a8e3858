from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from support.rows import Row, validate_rows

from sync.mapping_spec import bind_mapping, identity_mapping, load_mapping, parse_mapping
from sync.models import Status
from sync.providers.dub import Dub
from sync.sources.table import numbered
from sync.validate import validate_frame

DUB = Dub()
ROOT = Path(__file__).resolve().parents[2]


def check(**values):
    columns = list(values)
    bound = bind_mapping(identity_mapping(), columns, DUB.known_fields())
    return validate_rows([Row(1, values)], bound, DUB.schema, DUB.tenant_field)


def problem(**values) -> tuple[str | None, str]:
    result = check(**values)
    assert not result.candidates(), "expected the row to be invalid"
    (outcome,) = result.invalid
    assert outcome.status is Status.INVALID and outcome.row == 1
    return outcome.field, outcome.message


def test_valid_row_is_sent_trimmed_without_empty_fields():
    result = check(email="  ann@example.com ", name=" Ann ", tenantId="t-1", country=None)
    (candidate,) = result.candidates()
    assert candidate.payload == {"email": "ann@example.com", "name": "Ann", "tenantId": "t-1"}
    assert candidate.tenant_id == "t-1" and candidate.key == "ann@example.com"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a..b@example.com"}, "email"),
        ({"email": "x" * 180 + "@example.com"}, "email"),
        ({"name": "Ann"}, "email"),
        ({"email": "a@example.com", "name": "n" * 101}, "name"),
        ({"email": "a@example.com", "name": "😀" * 51}, "name"),  # 102 UTF-16 units
        ({"email": "a@example.com", "username": "has space"}, "username"),
        ({"email": "a@example.com", "username": "_hidden"}, "username"),
        ({"email": "a@example.com", "username": "shell.php"}, "username"),
        ({"email": "a@example.com", "country": "Austria"}, "country"),
        ({"email": "a@example.com", "country": "XX"}, "country"),
        ({"email": "a@example.com", "description": "d" * 5001}, "description"),
    ],
)
def test_documented_limits(values, field):
    assert problem(**values)[0] == field


def test_emoji_username_and_unicode_name_are_allowed():
    result = check(email="a@example.com", username="café-🚀", name="Zoë")
    assert result.candidates()


def test_link_props_limits():
    ok = {
        "email": "a@example.com",
        "linkProps": {
            "testVariants": [
                {"url": "https://a.example", "percentage": 50},
                {"url": "https://b.example", "percentage": 50},
            ]
        },
    }
    bound = bind_mapping(identity_mapping(), ["email"], DUB.known_fields())
    # linkProps comes from a mapping in practice; validate the model directly here.
    assert DUB.schema.model_validate(ok)
    one_variant = {
        "email": "a@example.com",
        "linkProps": {"testVariants": [{"url": "u", "percentage": 50}]},
    }
    with pytest.raises(ValueError, match="testVariants"):
        DUB.schema.model_validate(one_variant)
    too_small = {
        "email": "a@example.com",
        "linkProps": {
            "testVariants": [{"url": "u", "percentage": 5}, {"url": "v", "percentage": 95}]
        },
    }
    with pytest.raises(ValueError, match="percentage"):
        DUB.schema.model_validate(too_small)
    assert bound  # the identity mapping binds the email column


def test_every_problem_of_a_row_is_reported():
    field, message = problem(email="bad", country="ZZ", name="n" * 101)
    assert field.startswith("email")
    assert "country" in message and "name" in message


def test_good_rows_go_on_past_bad_ones():
    bound = bind_mapping(identity_mapping(), ["email"], DUB.known_fields())
    rows = [
        Row(1, {"email": "a@example.com"}),
        Row(2, {"email": "nope"}),
        Row(3, {"email": "c@example.com"}),
    ]
    result = validate_rows(rows, bound, DUB.schema, DUB.tenant_field)
    assert [c.row for c in result.candidates()] == [1, 3]
    assert [o.row for o in result.invalid] == [2]


@pytest.mark.parametrize(
    ("email", "fragment"),
    [
        (
            "v\u0430l@example.com",
            "'\u0430' (U+0430 CYRILLIC SMALL LETTER A) at position 2, which looks like 'a'",
        ),
        (
            "val\uff20example.com",
            "(U+FF20 FULLWIDTH COMMERCIAL AT) at position 4, which looks like '@'",
        ),
        (
            "va\u200bl@example.com",
            "(U+200B ZERO WIDTH SPACE) at position 3; only ASCII addresses are accepted: delete",
        ),
        ("ann@b\u00fccher.de", "use the domain's ASCII form, ann@xn--bcher-kva.de"),
        (
            "ex@ex\u0430mple.com",
            "retype that character",
        ),  # a look-alike in a Latin domain: no punycode
        ("ann lee@example.com", "'ann lee@example.com' contains a space"),
        ("ann@example.com\rb", "contains a line break"),
        ("x" * 300 + "@example.com", "... (312 characters) is too long for an email address"),
    ],
)
def test_a_bad_email_says_which_character_to_fix(email: str, fragment: str):
    field, message = problem(email=email)
    assert field == "email" and fragment in message


@pytest.mark.parametrize("padding", ["\u200b", "\u00a0", "\ufeff", " \u2060\t", "\u3000"])
def test_invisible_padding_around_an_email_is_trimmed(padding: str):
    (candidate,) = check(email=f"{padding}ann@example.com{padding}").candidates()
    assert candidate.email == "ann@example.com"


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"email": "a@example.com", "name": "A\x00n"}, "name", "U+0000 at position 2 (a NUL byte"),
        ({"email": "a@example.com", "name": "\x1b[31mAnn"}, "name", "U+001B at position 1"),
        ({"email": "a@example.com", "name": "\x93Ann\x94"}, "name", "--encoding cp1252"),
        ({"email": "a\x07@example.com"}, "email", "U+0007"),
        ({"email": "a@example.com", "name": "Ann\nLee"}, "name", "contains a line break"),
        ({"email": "a@example.com", "tenantId": "t-1\nt-2"}, "tenantId", "contains a line break"),
    ],
)
def test_control_characters_and_line_breaks_are_named(values, field: str, fragment: str):
    got_field, message = problem(**values)
    assert got_field == field and fragment in message


def test_a_row_the_reader_could_not_split_is_invalid_in_the_field_row():
    bound = bind_mapping(identity_mapping(), ["email"], DUB.known_fields())
    row = Row(4, {}, problem="line 5 has 3 fields but the header has 1")
    (outcome,) = validate_rows([row], bound, DUB.schema, DUB.tenant_field).invalid
    assert (outcome.row, outcome.field, outcome.message) == (4, "row", row.problem)


def test_a_huge_invalid_email_is_shown_cut_short():
    (outcome,) = check(email="e" * 10_000).invalid
    assert outcome.email is not None and len(outcome.email) < 300
    assert len(outcome.message) < 300


def test_a_message_quotes_the_value_as_the_input_had_it():
    spec = load_mapping(ROOT / "mappings" / "dub.toml")  # country: trim, upper
    columns = ["email", "country"]
    bound = bind_mapping(spec, columns, DUB.known_fields())
    frame = numbered(pl.DataFrame({"email": ["a@example.com"], "country": [" Austria "]}))
    (outcome,) = validate_frame(frame, bound, DUB.schema, DUB.tenant_field).invalid
    assert outcome.field == "country"
    assert "'Austria' is not an ISO 3166-1 alpha-2 country code" in outcome.message
    assert "AUSTRIA" not in outcome.message


def test_a_message_quotes_the_first_cell_that_is_not_blank_among_the_rule_s_columns():
    fields = {
        "email": {"column": "email"},
        "country": {"coalesce": ["country", "country_code"], "transforms": ["trim", "upper"]},
    }
    spec = parse_mapping({"fields": fields}, source="t", digest="d")
    bound = bind_mapping(spec, ["email", "country", "country_code"], DUB.known_fields())
    cells = {"email": ["a@example.com"], "country": ["  "], "country_code": [" Austria "]}
    (outcome,) = validate_frame(numbered(pl.DataFrame(cells)), bound, DUB.schema, None).invalid
    assert outcome.field == "country"
    assert "'Austria' is not an ISO 3166-1 alpha-2 country code" in outcome.message


def test_a_message_that_cites_several_fields_names_them_all():
    field, message = problem(email="bad", country="ZZ", name="n" * 101)
    assert field == "email, name, country"
    assert all(f"{name}:" in message for name in ("email", "name", "country"))


def test_a_value_the_mapping_leaves_untrimmed_is_trimmed_as_the_schema_says():
    # collapse_spaces strips whitespace only: a zero-width space at an end survives it, and the
    # schema's own trim (Dub's name is trimmed) must still remove it, in columns as in pydantic.
    fields = {
        "email": {"column": "email"},
        "name": {"column": "name", "transforms": ["collapse_spaces"]},
        "linkProps.tagNames": {"column": "tags", "transforms": ["split"]},
    }
    spec = parse_mapping({"fields": fields}, source="t", digest="d")
    bound = bind_mapping(spec, ["email", "name", "tags"], DUB.known_fields())
    values = {"email": "ann@example.com", "name": "\u200bAnn   Lee ", "tags": " a ,, b\u200b"}
    (candidate,) = validate_rows([Row(1, values)], bound, DUB.schema, DUB.tenant_field).candidates()
    assert candidate.payload == {
        "email": "ann@example.com",
        "name": "Ann Lee",
        "linkProps": {"tagNames": ["a", "b"]},
    }
