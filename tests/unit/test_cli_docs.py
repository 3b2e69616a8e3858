from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.cli import cli

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_teaches_with_an_example_and_is_in_the_readme(name: str):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"partner-sync {name}" in README


def test_top_level_help_lists_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "130 interrupted" in result.output and "4 the provider refused" in result.output


def test_readme_starts_with_the_two_commands():
    lines = [line for line in README.splitlines() if line.startswith("pip install uv && ")]
    assert lines[0].startswith("pip install uv && uv run partner-sync sync samples/roster.csv")
    assert lines[1] == "pip install uv && uv run pytest"
    assert "uv run pytest" in (Path(__file__).parents[2] / ".ci" / "run").read_text()
