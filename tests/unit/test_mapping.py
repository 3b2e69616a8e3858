from __future__ import annotations

from pathlib import Path

import pytest

from sync.errors import InputError
from sync.mapping import CellError, bind_mapping, identity_mapping, load_mapping, parse_mapping

KNOWN = ["email", "name", "tenantId", "country", "linkProps.externalId", "linkProps.tagNames"]


def spec(fields: dict, passthrough: bool = False):
    return parse_mapping({"fields": fields, "passthrough": passthrough}, source="t", digest="d")


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
    assert bound.apply(row) == {
        "email": "ann@ex.com",
        "name": "Ann",
        "country": "US",
        "linkProps": {"externalId": "ext-1", "tagNames": ["a", "b", "c"]},
    }


def test_empty_cells_send_no_key_at_all():
    bound = bind_mapping(
        spec({"email": {"column": "e"}, "tenantId": {"column": "t"}}), ["e", "t"], KNOWN
    )
    assert bound.apply({"e": "a@b.co", "t": "   "}) == {"email": "a@b.co"}
    assert bound.apply({"e": "a@b.co", "t": None}) == {"email": "a@b.co"}


def test_missing_column_is_a_file_problem_naming_the_column():
    with pytest.raises(InputError, match=r"'mail' \(for email\)"):
        bind_mapping(spec({"email": {"column": "mail"}}), ["email"], KNOWN)


def test_optional_rule_without_columns_lets_passthrough_fill_the_field():
    mapping = spec(
        {"name": {"join": ["first_name", "last_name"], "optional": True}}, passthrough=True
    )
    bound = bind_mapping(mapping, ["email", "name"], KNOWN)
    assert bound.apply({"email": "a@b.co", "name": "Ann Lee"}) == {
        "email": "a@b.co",
        "name": "Ann Lee",
    }


def test_first_present_alternative_column_wins():
    bound = bind_mapping(spec({"email": {"column": ["mail", "Email"]}}), ["x", "Email"], KNOWN)
    assert bound.apply({"Email": "a@b.co", "x": "1"}) == {"email": "a@b.co"}
    assert bound.unused_columns == ("x",)


def test_identity_mapping_takes_provider_field_columns_only():
    bound = bind_mapping(identity_mapping(), ["email", "name", "notes"], KNOWN)
    assert bound.apply({"email": "a@b.co", "name": "A", "notes": "x"}) == {
        "email": "a@b.co",
        "name": "A",
    }


def test_bad_json_cell_is_a_row_problem():
    bound = bind_mapping(
        spec({"linkProps.tagNames": {"column": "t", "transforms": ["json"]}}), ["t"], KNOWN
    )
    with pytest.raises(CellError) as caught:
        bound.apply({"t": "[1,"})
    assert caught.value.target == "linkProps.tagNames"


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
    assert bound.apply(row) == {"email": "a@x.com", "tenantId": "t-1", "name": "Ann"}


def test_cells_of_only_invisible_characters_are_empty():
    mapping = spec({"email": {"column": "e", "transforms": ["trim"]}, "name": {"join": ["f"]}})
    bound = bind_mapping(mapping, ["e", "f"], KNOWN)
    assert bound.apply({"e": "\u200b a@x.com\u00a0", "f": "\u200b \ufeff"}) == {"email": "a@x.com"}


def test_a_json_cell_that_is_not_an_object_under_a_dotted_target_is_a_cell_error():
    mapping = spec(
        {
            "linkProps": {"column": "props", "transforms": ["json"]},
            "linkProps.externalId": {"value": "x"},
        }
    )
    bound = bind_mapping(mapping, ["props"], [*KNOWN, "linkProps"])
    with pytest.raises(CellError, match="linkProps is list, not an object"):
        bound.apply({"props": "[1, 2]"})
    with pytest.raises(CellError, match="cannot apply json"):
        bound.apply({"props": "[" * 100_000})


def test_a_missing_column_message_quotes_and_shortens_the_header():
    mapping = spec({"email": {"column": "email"}})
    columns = ["x" * 500, *[f"c{n}" for n in range(100)]]
    with pytest.raises(InputError) as caught:
        bind_mapping(mapping, columns, KNOWN)
    assert len(str(caught.value)) < 1000 and "and 71 more" in str(caught.value)
