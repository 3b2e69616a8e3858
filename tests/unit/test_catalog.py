"""The built-in mappings: every file of mappings/ is found, listed and shown by one catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.catalog import builtin_mapping, builtin_mappings, default_mapping, migration_mapping
from sync.cli import cli
from sync.errors import InputError
from sync.mapping_spec import bind_mapping, load_mapping
from sync.providers.dub import Dub

MAPPINGS = Path(__file__).parents[2] / "mappings"


def test_every_file_in_mappings_is_a_builtin_mapping_with_a_description():
    found = {mapping.name: mapping for mapping in builtin_mappings()}
    assert set(found) == {path.stem for path in MAPPINGS.glob("*.toml")}
    assert all(mapping.description for mapping in found.values())
    assert default_mapping("dub") == MAPPINGS.resolve() / "dub.toml"
    assert migration_mapping("promotekit", "dub") == MAPPINGS.resolve() / "promotekit-to-dub.toml"
    assert builtin_mapping("dub.toml") == builtin_mapping("dub")
    assert migration_mapping("dub", "nowhere") is None


def test_mappings_lists_and_shows_them():
    listing = CliRunner().invoke(cli, ["mappings"])
    assert listing.exit_code == 0
    assert any(line.startswith("promotekit-to-dub ") for line in listing.output.splitlines())
    shown = CliRunner().invoke(cli, ["mappings", "show", "partnero"])
    assert shown.exit_code == 0
    assert shown.output == (MAPPINGS / "partnero.toml").read_text(encoding="utf-8")
    unknown = CliRunner().invoke(cli, ["mappings", "show", "nope"])
    assert unknown.exit_code == 2 and "promotekit-to-dub" in unknown.output


def test_a_missing_column_says_which_field_to_map_and_how():
    spec = load_mapping(MAPPINGS / "dub.toml")
    with pytest.raises(InputError) as caught:
        bind_mapping(spec, ["E-mail", "Name"], Dub().known_fields())
    hint = caught.value.hint or ""
    assert "map field email" in hint and "partner-sync mappings show dub" in hint
    assert '[fields.email]  column = "E-mail"' in hint


def test_a_missing_column_of_an_own_mapping_points_at_that_file(tmp_path: Path):
    own = tmp_path / "mine.toml"
    own.write_text('provider = "dub"\n[fields.email]\ncolumn = "Mail"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        bind_mapping(load_mapping(own), ["email_addr"], Dub().known_fields())
    assert f"in {own}" in (caught.value.hint or "")
