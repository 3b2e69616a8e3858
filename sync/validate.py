"""Rows + a provider schema → candidates, and an `invalid` outcome for every bad row (pure).

This is the rule, one row at a time. The pipeline validates whole columns (sync/columnar/) and
calls `validate_row` for every row the columns cannot accept on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sync.mapping import BoundMapping, CellError
from sync.models import Candidate, Outcome, Row, Status


@dataclass(slots=True)
class Validated:
    """The rows that fit the schema, and one outcome per row that does not."""

    candidates: list[Candidate]
    invalid: list[Outcome]


def validate_rows(
    rows: Iterable[Row],
    mapping: BoundMapping,
    schema: type[BaseModel],
    tenant_field: str | None,
) -> Validated:
    """Map and validate every row; collect all problems instead of stopping at the first.

    Args:
        rows: input rows with their numbers.
        mapping: the mapping fitted to the input's header.
        schema: the provider's create-body model, the single statement of its limits.
        tenant_field: the payload field that plays tenantId's role, if the provider has one.
    """
    candidates: list[Candidate] = []
    invalid: list[Outcome] = []
    for row in rows:
        result = validate_row(row, mapping, schema, tenant_field)
        if isinstance(result, Candidate):
            candidates.append(result)
        else:
            invalid.append(result)
    return Validated(candidates=candidates, invalid=invalid)


def validate_row(
    row: Row, mapping: BoundMapping, schema: type[BaseModel], tenant_field: str | None
) -> Candidate | Outcome:
    """Map and validate one row: the candidate to send, or its `invalid` outcome."""
    try:
        payload = mapping.apply(row.values)
    except CellError as exc:
        return _invalid(row.number, exc.target, str(exc), None)
    return validate_payload(row.number, payload, schema, tenant_field)


def validate_payload(
    number: int, payload: dict[str, Any], schema: type[BaseModel], tenant_field: str | None
) -> Candidate | Outcome:
    """Validate one mapped row: the candidate to send, or its `invalid` outcome."""
    try:
        model = schema.model_validate(payload)
    except ValidationError as exc:
        field, message = describe_errors(exc)
        return _invalid(number, field, message, payload.get("email"))
    # exclude_none: a field the row does not have is left out, never sent as null.
    body = model.model_dump(exclude_none=True)
    tenant = body.get(tenant_field) if tenant_field else None
    return Candidate(
        row=number,
        payload=body,
        email=body["email"],
        tenant_id=str(tenant) if tenant is not None else None,
    )


def describe_errors(error: ValidationError) -> tuple[str, str]:
    """The first failing field and a one-line account of every problem in the row."""
    parts = []
    first_field = ""
    for issue in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in issue["loc"])
        first_field = first_field or location
        message = issue["msg"].removeprefix("Value error, ")
        if issue["type"] == "missing":
            message = "is required"
        elif issue["type"] == "extra_forbidden":
            message = "is not a field of this provider"
        parts.append(f"{location}: {message}")
    return first_field, "; ".join(parts)


def _invalid(row: int, field: str, message: str, email: object) -> Outcome:
    return Outcome(
        row=row,
        status=Status.INVALID,
        field=field,
        message=message,
        email=email if isinstance(email, str) else None,
    )
