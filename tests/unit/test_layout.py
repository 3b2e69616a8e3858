"""The layout's rules, read from the code itself (see sync/__init__.py):

- polars lives in the stages that work on frames (sources of rows, mapping, validation, plan,
  index, outcomes, report); never in the providers, the worker, the checkpoint or the rest
  that talks to accounts or to the user;
- only the providers' HTTP client speaks HTTP (httpx): the sources reach it for the transport a
  test injects, nothing else imports it;
- only the command line (sync/cli/) prints to stdout or exits;
- README's Layout section names every module and package of sync/.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sync"

# Where polars must never appear: these modules handle one partner, one request or one file
# of state at a time, or speak to the user; frames stay in the stages that make them.
NO_POLARS = (
    "providers/",
    "sandbox/",
    "cli/",
    "sources/platform.py",
    "sources/account.py",
    "sources/firstpromoter.py",
    "sources/partnerstack.py",
    "sources/rewardful.py",
    "sources/tapfiliate.py",
    "sources/tolt.py",
    "worker.py",
    "checkpoint",  # checkpoint.py and its checkpoint_*.py
    "ratelimit.py",
    "retry.py",
    "settings.py",
    "accounts.py",
    "budget.py",
    "source_settings.py",
    "credentials.py",
    "pipeline.py",
    "registry.py",
    "logs.py",
    "errors.py",
)
HTTP_CLIENTS = ("providers/http.py", "sources/platform.py", "sources/account.py")


@functools.cache
def parsed() -> dict[str, ast.Module]:
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_bytes(), filename=str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def modules() -> Iterator[tuple[str, ast.Module]]:
    yield from parsed().items()


def imported(tree: ast.Module) -> set[str]:
    """The top-level packages a module imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_rules_see_the_whole_package() -> None:
    names = {name for name, _ in modules()}
    assert {"worker.py", "checkpoint.py", "providers/dub.py", "cli/__init__.py"} <= names
    # The rule has teeth: the frame stages do use polars.
    assert any("polars" in imported(tree) for _, tree in modules())


@pytest.mark.parametrize("name", [name for name, _ in modules() if name.startswith(NO_POLARS)])
def test_polars_stays_out_of_providers_worker_checkpoint_and_the_cli(name: str) -> None:
    tree = parsed()[name]
    assert "polars" not in imported(tree), f"sync/{name} imports polars"


def test_only_the_http_client_and_the_sources_that_inject_its_transport_import_httpx() -> None:
    importers = {name for name, tree in modules() if "httpx" in imported(tree)}
    assert importers <= set(HTTP_CLIENTS), sorted(importers - set(HTTP_CLIENTS))


def _is_print_or_exit(function: ast.expr) -> bool:
    if isinstance(function, ast.Name):
        return function.id in ("print", "exit", "quit")
    if not isinstance(function, ast.Attribute):
        return False
    owner = getattr(function.value, "id", "")
    return (function.attr == "exit" and owner in ("sys", "os")) or (
        function.attr in ("echo", "secho") and owner == "click"
    )


def _prints_or_exits(tree: ast.Module) -> list[int]:
    calls = (node for node in ast.walk(tree) if isinstance(node, ast.Call))
    return [call.lineno for call in calls if _is_print_or_exit(call.func)]


def test_only_the_command_line_prints_to_stdout_or_exits() -> None:
    found = {
        name: lines
        for name, tree in modules()
        if not name.startswith("cli/") and (lines := _prints_or_exits(tree))
    }
    assert found == {}


def _readme_layout() -> str:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Layout", 1)[1]
    return section.split("\nRules, checked by", 1)[0]


def test_the_readme_layout_names_every_module_and_package_of_sync() -> None:
    layout = _readme_layout()
    top_level = [
        name for name in parsed() if "/" not in name and name not in ("__init__.py", "__main__.py")
    ]
    packages = sorted({name.split("/")[0] + "/" for name in parsed() if "/" in name})
    missing = [name for name in [*top_level, *packages] if name not in layout]
    assert missing == [], f"README's Layout section does not name: {missing}"
