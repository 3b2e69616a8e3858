"""Mapping files (mappings/*.toml), parsed and fitted to an input's header; mapping.py applies them.

A mapping is a table of target fields. Each field takes its value from one column (or the first of
several that the file has), from several columns joined, or from a constant, and may pass it
through simple transforms. A dotted target (`linkProps.externalId`) builds a nested object.

    provider = "dub"
    passthrough = true            # columns already named like a provider field are taken as is

    [fields.email]
    column = "Email Address"
    transforms = ["trim"]

    [fields.name]
    join = ["first_name", "last_name"]   # blanks skipped, joined with `separator` (" ")

    [fields.groupId]
    value = "grp_partners"               # a constant

    [fields.tenantId]
    coalesce = ["external_id", "source_id"]  # the first non-empty value of these columns

    [fields.country]
    column = ["country", "country_code"] # the first column the file has
    optional = true                      # the file may have none of them
    default = "US"                       # used when the cell is empty
    transforms = ["trim", "upper"]
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.catalog import builtin_mapping
from sync.errors import InputError
from sync.mapping_rules import TRANSFORM_NAMES


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one target field gets its value."""

    target: str
    columns: tuple[str, ...] = ()
    join: tuple[str, ...] = ()
    coalesce: tuple[str, ...] = ()
    separator: str = " "
    value: Any = None
    default: Any = None
    optional: bool = False
    transforms: tuple[str, ...] = ()

    def sources(self) -> tuple[str, ...]:
        return self.join or self.coalesce or self.columns


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A parsed mapping file, not yet fitted to an input's columns."""

    rules: tuple[FieldRule, ...]
    passthrough: bool
    provider: str | None
    digest: str
    source: str  # where it came from, for messages


@dataclass(frozen=True, slots=True)
class BoundMapping:
    """A mapping fitted to one file's header: every rule knows which columns it reads."""

    steps: tuple[tuple[FieldRule, tuple[str, ...]], ...]
    passthrough: tuple[tuple[str, str], ...]  # (column, target)
    digest: str
    unused_columns: tuple[str, ...] = field(default=())
    # Input columns of lists or structs (Parquet), with what they hold: see `nested_problem`.
    nested: Mapping[str, str] = field(default_factory=dict)

    @property
    def targets(self) -> list[str]:
        """Every field this mapping can fill."""
        return [rule.target for rule, _ in self.steps] + [target for _, target in self.passthrough]

    def columns_of(self, targets: Iterable[str | None]) -> list[str]:
        """The input columns these target fields take their values from."""
        wanted = set(targets)
        taken = [name for rule, names in self.steps if rule.target in wanted for name in names]
        return taken + [name for name, target in self.passthrough if target in wanted]

    def nested_columns(self, columns: Iterable[str], *, takes: bool) -> list[str]:
        """Which of these columns hold lists or structs a rule cannot take as text."""
        return [] if takes else [column for column in columns if column in self.nested]


def load_mapping(path: Path) -> MappingSpec:
    """Parse a mapping file, collecting every problem before raising `InputError`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read mapping file {path}: {exc.strerror}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"mapping file {path} is not valid TOML: {exc}") from None
    return parse_mapping(document, source=str(path), digest=hashlib.sha256(raw).hexdigest())


def parse_mapping(document: dict[str, Any], *, source: str, digest: str) -> MappingSpec:
    problems: list[str] = []
    fields_table = document.get("fields", {})
    if not isinstance(fields_table, dict):
        raise InputError(f"mapping {source}: [fields] must be a table")
    rules = []
    for target, spec in fields_table.items():
        if not isinstance(spec, dict):
            problems.append(f"fields.{target} must be a table")
            continue
        rule, rule_problems = _parse_rule(target, spec)
        problems.extend(rule_problems)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise InputError(
            f"mapping {source} has {len(problems)} problem(s): " + "; ".join(problems),
            hint="see the mapping format in README.md",
        )
    provider = document.get("provider")
    return MappingSpec(
        rules=tuple(rules),
        passthrough=bool(document.get("passthrough", False)),
        provider=provider if isinstance(provider, str) else None,
        digest=digest,
        source=source,
    )


def identity_mapping() -> MappingSpec:
    """The mapping of a file whose headers already are the provider's field names."""
    return MappingSpec(
        rules=(), passthrough=True, provider=None, digest="identity", source="identity"
    )


def bind_mapping(
    mapping: MappingSpec,
    columns: list[str],
    known_fields: Iterable[str],
    nested: Mapping[str, str] | None = None,
) -> BoundMapping:
    """Fit a mapping to a file's header.

    Args:
        mapping: the parsed mapping.
        columns: the input file's header.
        known_fields: the provider's field names (dotted for nested ones), for passthrough.
        nested: the columns that hold lists or structs (Parquet), with what they hold.

    Raises:
        InputError: the mapping names a column the file does not have.
    """
    # A header is found as written, else regardless of case ("EMAIL" for "email"); the reader
    # refuses a header with two columns that differ only in case, so this is unambiguous.
    present = {name: name for name in columns}
    folded = {name.casefold(): name for name in columns}

    def find(name: str) -> str | None:
        return present.get(name) or folded.get(name.casefold())

    steps: list[tuple[FieldRule, tuple[str, ...]]] = []
    missing: list[str] = []
    unmapped: list[FieldRule] = []
    for rule in mapping.rules:
        chosen, absent = _columns_of_rule(rule, find)
        if absent and not rule.optional:
            missing.extend(f"{names} (for {rule.target})" for names in absent)
            unmapped.append(rule)
        if chosen or rule.default is not None or rule.value is not None:
            steps.append((rule, chosen))
    if missing:
        raise InputError(
            f"mapping {mapping.source} names column(s) the input does not have: "
            + ", ".join(missing),
            hint=_how_to_map(mapping, unmapped[0], columns)
            + f"; the input's columns are: {describe_columns(columns)}",
        )
    used = {name for _, chosen in steps for name in chosen}
    passthrough = _passthrough(columns, known_fields, steps, used) if mapping.passthrough else []
    used |= {column for column, _ in passthrough}
    return BoundMapping(
        steps=tuple(steps),
        passthrough=tuple(passthrough),
        digest=mapping.digest,
        unused_columns=tuple(column for column in columns if column not in used),
        nested=dict(nested or {}),
    )


def _passthrough(
    columns: list[str],
    known_fields: Iterable[str],
    steps: list[tuple[FieldRule, tuple[str, ...]]],
    used: set[str],
) -> list[tuple[str, str]]:
    """The columns a passthrough mapping carries as they are: (column, field) for each column
    named like a provider field (regardless of case) that no rule maps or takes."""
    mapped_targets = {rule.target for rule, _ in steps}
    fields = {name.casefold(): name for name in known_fields}
    return [
        (column, fields[column.casefold()])
        for column in columns
        if column.casefold() in fields
        and fields[column.casefold()] not in mapped_targets
        and column not in used
    ]


def _columns_of_rule(
    rule: FieldRule, find: Callable[[str], str | None]
) -> tuple[tuple[str, ...], list[str]]:
    """The input columns a rule reads, and what it names that the input lacks: every column of
    a join, any of a coalesce's or of a column's alternatives (the first one found is read)."""
    if rule.value is not None:
        return (), []
    if rule.join:
        found = [find(name) for name in rule.join]
        absent = [repr(name) for name, column in zip(rule.join, found, strict=True) if not column]
        return tuple(column for column in found if column), absent
    names = rule.coalesce or rule.columns
    chosen = tuple(column for column in map(find, names) if column)
    absent = [] if chosen else [" or ".join(repr(name) for name in names)]
    return (chosen if rule.coalesce else chosen[:1]), absent


def takes_lists(rule: FieldRule) -> bool:
    """Whether a rule reads a list or struct cell (Parquet) as what it is: its text form is
    what `split` ("a,b") and `json` read. Any other rule wants text, and a list or struct
    there is a bad value, not its text sent as a name or an id."""
    return "split" in rule.transforms or "json" in rule.transforms


def _how_to_map(mapping: MappingSpec, rule: FieldRule, columns: list[str]) -> str:
    """Say how to point `rule`'s field at one of the file's columns: the TOML lines to write
    (with the column that looks most like what the rule expected) and where to write them."""
    column = _look_alike(rule.sources(), columns) or (columns[0] if columns else "COLUMN")
    snippet = f"[fields.{_toml_key(rule.target)}]  column = {json.dumps(column)}"
    builtin = builtin_mapping(Path(mapping.source).stem)
    if builtin is not None and builtin.path == Path(mapping.source).resolve():
        where = (
            f"copy the mapping (partner-sync mappings show {builtin.name} > my-mapping.toml), "
            "pass --mapping my-mapping.toml"
        )
    else:
        where = f"in {mapping.source}"
    return f"map field {rule.target} to a column of the input: {where}, and write {snippet}"


def _look_alike(expected: Iterable[str], columns: list[str]) -> str | None:
    """The file's column named like an expected one but for case and punctuation (`E-mail`)."""

    def folded(name: str) -> str:
        return "".join(char for char in name.casefold() if char.isalnum())

    wanted = {folded(name) for name in expected}
    return next((column for column in columns if folded(column) in wanted), None)


def _toml_key(target: str) -> str:
    # A dotted target is one quoted key in a mapping file ([fields."linkProps.tagNames"]).
    return json.dumps(target) if "." in target else target


def describe_columns(columns: list[str], limit: int = 30) -> str:
    """A header for a message: each name quoted and cut short, at most `limit` of them."""
    shown = [repr(name if len(name) <= 40 else name[:40] + "...") for name in columns[:limit]]
    more = len(columns) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _parse_rule(target: str, spec: dict[str, Any]) -> tuple[FieldRule | None, list[str]]:
    problems = []
    unknown = set(spec) - {
        "column",
        "join",
        "coalesce",
        "separator",
        "value",
        "default",
        "optional",
        "transforms",
    }
    if unknown:
        problems.append(f"fields.{target} has unknown key(s) {', '.join(sorted(unknown))}")
    column = spec.get("column")
    columns = (column,) if isinstance(column, str) else tuple(column or ())
    join = tuple(spec.get("join", ()))
    coalesce = tuple(spec.get("coalesce", ()))
    sources = sum(1 for present in (columns, join, coalesce, "value" in spec) if present)
    if sources != 1:
        problems.append(f"fields.{target} needs exactly one of column, join, coalesce or value")
    transforms = tuple(spec.get("transforms", ()))
    bad = [name for name in transforms if name not in TRANSFORM_NAMES]
    if bad:
        problems.append(
            f"fields.{target}: unknown transform(s) {', '.join(bad)} "
            f"(known: {', '.join(TRANSFORM_NAMES)})"
        )
    if problems:
        return None, problems
    return (
        FieldRule(
            target=target,
            columns=columns,
            join=join,
            coalesce=coalesce,
            separator=str(spec.get("separator", " ")),
            value=spec.get("value"),
            default=spec.get("default"),
            optional=bool(spec.get("optional", False)),
            transforms=transforms,
        ),
        [],
    )
