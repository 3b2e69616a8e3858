"""The built-in mappings (`mappings/*.toml`): found the same way installed or in a checkout.

The repository's top-level `mappings/` is their one source. A wheel carries a copy of it inside
the package (`sync/mappings/`, see pyproject.toml), so the installed tool finds them from any
working directory; a checkout (or an editable install) reads the top-level folder itself. Every
`*.toml` there is a built-in mapping: `PROVIDER.toml` is a provider's default, and
`SOURCE-to-TARGET.toml` maps a migration's provider-neutral columns onto the target's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync.errors import UsageError

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "mappings"  # inside an installed wheel
_CHECKOUT = _PACKAGE.parent / "mappings"  # the source itself, beside the package


@dataclass(frozen=True, slots=True)
class BuiltinMapping:
    """One built-in mapping file: its name (the file name without `.toml`) and what it is for."""

    name: str
    path: Path

    @property
    def description(self) -> str:
        """The file's first comment line, which says what the mapping is for."""
        for line in self.path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text.startswith("#"):
                return text.lstrip("#").strip()
            if text:
                break
        return ""


def mappings_dir() -> Path:
    """The folder that holds the built-in mappings."""
    return _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT


def builtin_mappings() -> list[BuiltinMapping]:
    """Every built-in mapping, by name."""
    folder = mappings_dir()
    paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return [BuiltinMapping(path.stem, path) for path in paths]


def builtin_mapping(name: str) -> BuiltinMapping | None:
    """The built-in mapping called `name` (`dub`, `promotekit-to-dub`; `.toml` may be given)."""
    stem = name.removesuffix(".toml")
    return next((mapping for mapping in builtin_mappings() if mapping.name == stem), None)


def default_mapping(provider: str) -> Path | None:
    """The mapping a file sync into `provider` uses when none is given."""
    found = builtin_mapping(provider)
    return found.path if found else None


def migration_mapping(source: str, target: str) -> Path | None:
    """The mapping of a migration from `source` into `target`, over the neutral columns."""
    found = builtin_mapping(f"{source}-to-{target}")
    return found.path if found else None


def direction_mapping(source: str, target: str, platform: bool) -> Path:
    """The migration's mapping: the pair's own, else (for a source `platform`) the target's
    generic one.

    Raises:
        UsageError: there is neither.
    """
    path = migration_mapping(source, target)
    if path is None and platform:
        path = migration_mapping("source", target)
    if path is None:
        raise UsageError(
            f"there is no mapping from {source} to {target}",
            hint="pass --mapping FILE over the columns of sync/neutral.py "
            "(`partner-sync mappings` lists the built-in ones)",
        )
    return path


def mapping_option(given: Path | None) -> Path | None:
    """--mapping is a file, or the name of a built-in mapping (`partner-sync mappings`)."""
    if given is None or given.exists():
        return given
    builtin = builtin_mapping(str(given)) if given.parent == Path() else None
    return builtin.path if builtin else given
