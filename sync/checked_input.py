"""The input stage: a run's rows read, mapped and validated, everything that needs no network.

A file problem (the file, its encoding, its header, the mapping) raises here, before anything is
sent; a bad row becomes an invalid row, with its number, field and reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
import structlog
from pydantic import BaseModel

from sync.catalog import default_mapping
from sync.errors import InputError
from sync.mapping import ROW
from sync.mapping_spec import (
    BoundMapping,
    MappingSpec,
    bind_mapping,
    identity_mapping,
    load_mapping,
)
from sync.migration import StatusPolicy, skipped_summary
from sync.models import Candidate
from sync.neutral import lost_in_migration
from sync.progress import Progress
from sync.settings import Settings
from sync.sources.ragged import with_ragged_keys
from sync.sources.table import Table
from sync.validate import EMAIL, ValidatedRows, validate_frame

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class CheckedInput:
    """The input read, mapped and validated: everything that needs no network.

    `valid` keeps the valid rows' keys as columns and builds payloads only for the rows asked
    for: a million-row input that is mostly known costs no million dictionaries."""

    table: Table
    mapping: BoundMapping
    valid: ValidatedRows
    # Rows the status policy leaves behind (ROW, their status), left out of `valid`.
    skipped: pl.DataFrame = field(default_factory=lambda: StatusPolicy().skipped_frame())
    # The requests reading a migration's source account took, by kind (none when its snapshot
    # was reused); None for an input file.
    source_calls: Counter[str] | None = None

    def candidates(self, rows: Iterable[int]) -> dict[int, Candidate]:
        """The candidates of these rows (valid ones only), by row number."""
        return {candidate.row: candidate for candidate in self.valid.candidates(rows)}


def check_input(settings: Settings, table: Table, progress: Progress | None = None) -> CheckedInput:
    """Map and validate the rows read (`table`); a mapping problem raises before anything is
    sent.

    Raises:
        InputError: the mapping cannot be used with the provider or the file's header.
    """
    provider = settings.provider
    known = provider.known_fields()
    spec = _mapping_spec(settings, table, known)
    unknown_targets = sorted({rule.target for rule in spec.rules} - set(known))
    if unknown_targets:
        raise InputError(
            f"mapping {spec.source} targets field(s) {provider.name} does not have: "
            + ", ".join(unknown_targets),
            hint=f"{provider.name}'s fields are: {', '.join(known)}",
        )
    mapping = bind_mapping(spec, table.columns, known, table.nested)
    schema = settings.schema
    if settings.invite:
        _warn_unsent_fields(mapping, schema)
    valid = _validate(table, mapping, schema, settings.tenant_field, settings.provider.code_field)
    if not table.height:
        log.warning("the input has a header but no rows", input=str(settings.input))
    skipped = _skipped(settings.statuses, table, valid)
    if progress:
        progress("reading", table.height, table.height)
    return CheckedInput(table=table, mapping=mapping, valid=valid, skipped=skipped)


def _skipped(policy: StatusPolicy, table: Table, valid: ValidatedRows) -> pl.DataFrame:
    """The rows the status policy leaves behind, taken out of `valid`, with their emails."""
    skipped = policy.skipped(table)
    emails = valid.keys.select(ROW, EMAIL)
    valid.without(skipped[ROW])
    return skipped.join(emails, on=ROW, how="left")


def _validate(
    table: Table,
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
    code_field: str | None,
) -> ValidatedRows:
    """Whole columns first, and one by one every row they cannot accept alone (a value or a
    rule they cannot judge, a row the reader could not split: it keeps the keys it shows)."""
    keys, emails = mapping.columns_of([EMAIL, tenant_field]), mapping.columns_of([EMAIL])
    frame = with_ragged_keys(table.frame, table.columns, keys, emails)
    columns = validate_frame(frame, mapping, schema, tenant_field, code_field=code_field)
    if columns.checked_one_by_one:
        log.debug("rows validated one by one", rows=columns.checked_one_by_one)
    return columns


def _warn_unsent_fields(mapping: BoundMapping, schema: type[BaseModel]) -> None:
    """Say once which mapped fields an invitation leaves out (they are dropped, not refused)."""
    top_level = {target.split(".")[0] for target in mapping.targets}
    left_out = sorted(top_level - set(schema.model_fields))
    if left_out:
        log.warning("an invitation does not carry these fields; not sent", fields=left_out)


def _mapping_spec(settings: Settings, table: Table, known: list[str]) -> MappingSpec:
    if settings.mapping is not None:
        return load_mapping(settings.mapping)
    # A file whose header already is the provider's field names needs no mapping.
    if "email" in table.columns and set(table.columns) <= set(known):
        return identity_mapping()
    default = default_mapping(settings.provider.name)
    return load_mapping(default) if default else identity_mapping()


def run_notes(checked: CheckedInput, *more: str | None) -> list[str]:
    """The summary's lines about rows the run left behind on purpose, and about codes."""
    return [note for note in (skipped_summary(checked.skipped), *more) if note]


def migration_losses(settings: Settings, checked: CheckedInput) -> list[str]:
    """Per field, what a migration cannot carry across; for a file, the columns left unused."""
    table = checked.table
    if settings.source is None:
        return [
            f"column {column!r} is in the input but no field takes it"
            for column in checked.mapping.unused_columns
            if table.filled(column)
        ]
    return lost_in_migration(
        table.filled, table.height, checked.mapping.unused_columns, settings.source.unportable
    )
