from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sync.errors import InputError
from sync.mapping import PROBLEM, PROBLEM_FIELD, ROW, map_frame
from sync.mapping_spec import (
    BoundMapping,
    bind_mapping,
    identity_mapping,
    load_mapping,
    parse_mapping,
)
from sync.sources.table import PROBLEM as READER_PROBLEM
from sync.sources.table import numbered

KNOWN = ["email", "name", "tenantId", "country", "linkProps.externalId", "linkProps.tagNames"]


def spec(fields: dict, passthrough: bool = False):
    return parse_mapping({"fields": fields, "passthrough": passthrough}, source="t", digest="d")


def mapped(bound: BoundMapping, records: list[dict], columns: list[str] | None = None):
    """Each row's payload, or (field, problem) for a row that cannot be mapped."""
    names = columns or list(records[0])
    frame = numbered(pl.DataFrame(records, schema={name: pl.String for name in names}))
    result = map_frame(frame, bound)
    rows = result.frame.select(PROBLEM_FIELD, PROBLEM, *result.targets).collect().rows()
    return [
        result.payload(cells) if problem is None else (field, problem)
        for field, problem, *cells in rows
    ]


def apply(bound: BoundMapping, record: dict):
    (result,) = mapped(bound, [record])
    return result


def test_rename_join_constant_default_and_transforms():
    mapping = spec(
        {
            "email": {"column": "Email Address", "transforms": ["trim", "lower"]},
            "name": {"join": ["first", "last"]},
            "country": {"column": "cc", "default": "US", "transforms": ["upper"]},
            "linkProps.externalId": {"value": "ext-1"},
            "linkProps.tagNames": {"column": "tags", "transforms": ["split"]},
        }
    )
    bound = bind_mapping(mapping, ["Email Address", "first", "last", "cc", "tags"], KNOWN)
    row = {
        "Email Address": "  Ann@Ex.COM ",
        "first": "Ann",
        "last": " ",
        "cc": None,
        "tags": "a, b,,c",
    }
    assert apply(bound, row) == {
        "email": "ann@ex.com",
        "name": "Ann",
        "country": "US",
        "linkProps": {"externalId": "ext-1", "tagNames": ["a", "b", "c"]},
    }


def test_empty_cells_send_no_key_at_all():
    bound = bind_mapping(
        spec({"email": {"column": "e"}, "tenantId": {"column": "t"}}), ["e", "t"], KNOWN
    )
    assert apply(bound, {"e": "a@b.co", "t": "   "}) == {"email": "a@b.co"}
    assert apply(bound, {"e": "a@b.co", "t": None}) == {"email": "a@b.co"}


def test_missing_column_is_a_file_problem_naming_the_column():
    with pytest.raises(InputError, match=r"'mail' \(for email\)"):
        bind_mapping(spec({"email": {"column": "mail"}}), ["email"], KNOWN)


def test_optional_rule_without_columns_lets_passthrough_fill_the_field():
    mapping = spec(
        {"name": {"join": ["first_name", "last_name"], "optional": True}}, passthrough=True
    )
    bound = bind_mapping(mapping, ["email", "name"], KNOWN)
    assert apply(bound, {"email": "a@b.co", "name": "Ann Lee"}) == {
        "email": "a@b.co",
        "name": "Ann Lee",
    }


def test_first_present_alternative_column_wins():
    bound = bind_mapping(spec({"email": {"column": ["mail", "Email"]}}), ["x", "Email"], KNOWN)
    assert apply(bound, {"Email": "a@b.co", "x": "1"}) == {"email": "a@b.co"}
    assert bound.unused_columns == ("x",)


def test_identity_mapping_takes_provider_field_columns_only():
    bound = bind_mapping(identity_mapping(), ["email", "name", "notes"], KNOWN)
    assert apply(bound, {"email": "a@b.co", "name": "A", "notes": "x"}) == {
        "email": "a@b.co",
        "name": "A",
    }


def test_bad_json_cell_is_a_row_problem():
    bound = bind_mapping(
        spec({"linkProps.tagNames": {"column": "t", "transforms": ["json"]}}), ["t"], KNOWN
    )
    field, problem = apply(bound, {"t": "[1,"})
    assert field == "linkProps.tagNames" and problem.startswith("cannot apply json: Expecting")


def test_every_problem_of_a_mapping_file_is_listed(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text(
        '[fields.email]\ncolumn = "e"\ntransforms = ["shout"]\n[fields.name]\nbogus = 1\n'
    )
    with pytest.raises(InputError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert "2 problem" in message or "3 problem" in message
    assert "shout" in message and "bogus" in message


def test_invalid_toml_is_a_file_problem(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text("[fields\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_mapping(path)


def test_shipped_dub_mapping_loads():
    mapping = load_mapping(Path(__file__).parents[2] / "mappings" / "dub.toml")
    assert {rule.target for rule in mapping.rules} >= {"email", "name", "tenantId"}


def test_columns_are_found_regardless_of_case_and_passthrough_too():
    mapping = spec({"email": {"column": "email"}}, passthrough=True)
    bound = bind_mapping(mapping, ["EMAIL", "TenantID", "Name"], KNOWN)
    row = {"EMAIL": "a@x.com", "TenantID": "t-1", "Name": "Ann"}
    assert apply(bound, row) == {"email": "a@x.com", "tenantId": "t-1", "name": "Ann"}


def test_cells_of_only_invisible_characters_are_empty():
    mapping = spec({"email": {"column": "e", "transforms": ["trim"]}, "name": {"join": ["f"]}})
    bound = bind_mapping(mapping, ["e", "f"], KNOWN)
    assert apply(bound, {"e": "\u200b a@x.com\u00a0", "f": "\u200b \ufeff"}) == {"email": "a@x.com"}


def test_a_json_cell_that_is_not_an_object_under_a_dotted_target_is_a_cell_error():
    mapping = spec(
        {
            "linkProps": {"column": "props", "transforms": ["json"]},
            "linkProps.externalId": {"value": "x"},
        }
    )
    bound = bind_mapping(mapping, ["props"], [*KNOWN, "linkProps"])
    assert apply(bound, {"props": "[1, 2]"}) == (
        "linkProps.externalId",
        "linkProps is list, not an object",
    )
    field, problem = apply(bound, {"props": "[" * 100_000})
    assert field == "linkProps" and problem.startswith("cannot apply json")
    assert apply(bound, {"props": '{"a": 1}'}) == {"linkProps": {"a": 1, "externalId": "x"}}


def test_a_missing_column_message_quotes_and_shortens_the_header():
    mapping = spec({"email": {"column": "email"}})
    columns = ["x" * 500, *[f"c{n}" for n in range(100)]]
    with pytest.raises(InputError) as caught:
        bind_mapping(mapping, columns, KNOWN)
    assert len(str(caught.value)) < 1000 and "and 71 more" in str(caught.value)


def test_transforms_keep_pythons_string_semantics():
    mapping = spec(
        {
            "name": {"column": "n", "transforms": ["title"]},
            "country": {"column": "c", "transforms": ["trim", "upper"]},
            "email": {"column": "e", "transforms": ["collapse_spaces", "lower"]},
            "linkProps.tagNames": {"column": "t", "transforms": ["split"]},
        }
    )
    bound = bind_mapping(mapping, ["n", "c", "e", "t"], KNOWN)
    record = {
        "n": "o'neil",
        "c": " straße\u200b",
        "e": " A\u3000B\x1c ",
        "t": "\u200ba ,\ufeffé, ,",
    }
    assert apply(bound, record) == {
        "name": "O'Neil",  # polars would say "O'neil"
        "country": "STRASSE",
        "email": "a b",
        "linkProps": {"tagNames": ["a", "é"]},
    }


def test_values_that_are_not_text_come_out_as_what_they_are():
    mapping = spec(
        {
            "email": {"column": "e", "transforms": ["json", "lower"]},  # a JSON string, then text
            "name": {"column": "b", "transforms": ["bool"]},
            "tenantId": {"column": "t", "default": 7},  # a default of another kind than text
            "country": {"value": ["x", 1]},
        }
    )
    bound = bind_mapping(mapping, ["e", "b", "t"], KNOWN)
    rows = mapped(
        bound, [{"e": '"A@X.COM"', "b": " Yes ", "t": "t-1"}, {"e": None, "b": "0", "t": " "}]
    )
    assert rows == [
        {"email": "a@x.com", "name": True, "tenantId": "t-1", "country": ["x", 1]},
        {"name": False, "tenantId": 7, "country": ["x", 1]},
    ]


def test_a_list_where_text_is_wanted_is_a_row_problem():
    mapping = spec(
        {"email": {"column": "e"}, "linkProps.tagNames": {"column": "t", "transforms": ["split"]}}
    )
    bound = bind_mapping(mapping, ["e", "t"], KNOWN, nested={"e": "a list", "t": "a list"})
    rows = mapped(bound, [{"e": "a,b", "t": "x,y"}, {"e": None, "t": "x"}])
    assert rows == [("email", "e: a list, expected text"), {"linkProps": {"tagNames": ["x"]}}]


def test_a_row_the_reader_could_not_split_keeps_its_problem_first():
    bound = bind_mapping(
        spec({"linkProps.tagNames": {"column": "t", "transforms": ["json"]}}), ["t"], KNOWN
    )
    frame = numbered(pl.DataFrame({"t": ["[1,", "[1,"]})).with_columns(
        pl.Series(READER_PROBLEM, ["line 2 has 3 fields", None])
    )
    rows = map_frame(frame, bound).frame.select(ROW, PROBLEM_FIELD, PROBLEM).collect().rows()
    assert rows[0] == (1, "row", "line 2 has 3 fields")
    assert rows[1][:2] == (2, "linkProps.tagNames")
