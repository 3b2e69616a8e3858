"""One mapped row + a provider schema → its candidate, or its `invalid` outcome (pure).

The column checks (sync/validate.py) judge every row; pydantic is called here, one row at a time,
only for the rows they refuse, to word the message of each (every field it cites, each value
quoted as the input had it), and `refused` words a row that could not be mapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from sync.mapping_spec import BoundMapping
from sync.models import Candidate, Outcome, Status, trim
from sync.providers.fields import shorten

# Control characters (Unicode category Cc) other than tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An invalid row's email is shown in the report as given, up to this many characters.
_SHOWN_EMAIL = 254


def refused(number: int, field: str, message: str, email: object, tenant: object) -> Outcome:
    """The `invalid` outcome of a row that could not be mapped, with the keys it still shows."""
    return _invalid(number, field, message, email, tenant if isinstance(tenant, str) else None)


def validate_payload(
    number: int,
    payload: dict[str, Any],
    schema: type[BaseModel],
    tenant_field: str | None,
    given: Mapping[str, str] | None = None,
) -> Candidate | Outcome:
    """Validate one mapped row: the candidate to send, or its `invalid` outcome. `given` holds,
    by field, the cell a value came from where the mapping changed it (`AUSTRIA` from
    `Austria`): messages quote the value as the input had it."""
    control = find_control_character(payload)
    if control is not None:
        return _invalid(number, *control, payload.get("email"), _tenant(payload, tenant_field))
    try:
        model = schema.model_validate(payload)
    except ValidationError as exc:
        field, message = describe_errors(exc, given)
        tenant = _tenant(payload, tenant_field)
        return _invalid(number, field, message, payload.get("email"), tenant)
    # exclude_none: a field the row does not have is left out, never sent as null.
    body = model.model_dump(exclude_none=True)
    tenant = body.get(tenant_field) if tenant_field else None
    return Candidate(
        row=number,
        payload=body,
        email=body["email"],
        tenant_id=str(tenant) if tenant is not None else None,
    )


class CellsGiven(Mapping[str, str]):
    """Per target field, the input cell its value was made from, where it is one cell (not a
    join, not a constant): the first that is not blank among the rule's columns. A cell is
    looked up when a message asks for it: most rows never ask, or ask for one field."""

    __slots__ = ("_cells", "_sources")

    def __init__(self, sources: Mapping[str, tuple[int, ...]], cells: Sequence[Any]) -> None:
        self._sources = sources  # by target, the positions of its columns in `cells`
        self._cells = cells  # one input row

    @classmethod
    def sources_of(
        cls, mapping: BoundMapping, columns: Sequence[str]
    ) -> dict[str, tuple[int, ...]]:
        """For each single-cell rule's target, where its columns are among `columns`."""
        position = {column: index for index, column in enumerate(columns)}
        return {
            rule.target: tuple(position[column] for column in sources if column in position)
            for rule, sources in mapping.steps
            if not rule.join and rule.value is None
        }

    def __getitem__(self, target: str) -> str:
        for index in self._sources.get(target, ()):
            cell = self._cells[index]
            if isinstance(cell, str) and trim(cell):
                return cell
        raise KeyError(target)

    def __iter__(self) -> Iterator[str]:
        return (target for target in self._sources if target in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def describe_errors(
    error: ValidationError, given: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Every failing field (", "-separated, in the order of the message) and a one-line account
    of every problem in the row, quoting each value as the input had it (`given`)."""
    parts = []
    fields: list[str] = []
    for issue in error.errors(include_url=False):
        location = ".".join(str(part) for part in issue["loc"])
        if location not in fields:
            fields.append(location)
        message = issue["msg"].removeprefix("Value error, ")
        if issue["type"] == "missing":
            message = "is required"
        elif issue["type"] == "extra_forbidden":
            message = "is not a field of this provider"
        else:
            message = _as_given(message, issue.get("input"), (given or {}).get(location))
        parts.append(f"{location}: {message}")
    return ", ".join(fields), "; ".join(parts)


def _as_given(message: str, checked: object, cell: str | None) -> str:
    """`message` quoting the input's cell where it quotes the value the mapping made of it.

    A value that differs from its cell only by the whitespace around it is quoted as checked:
    messages that count positions count them in the trimmed value."""
    if not isinstance(checked, str) or cell is None:
        return message
    shown = trim(cell)
    if shown == checked:
        return message
    return message.replace(shorten(checked), shorten(shown))


def find_control_character(payload: dict[str, Any], prefix: str = "") -> tuple[str, str] | None:
    """The first field holding a control character, and a message naming it; None if clean.

    A NUL or an escape code is never part of a name or an address: it is a damaged export. C1
    controls (U+0080-U+009F) are what Windows-1252 punctuation becomes when read as latin-1.
    Tabs and line breaks are left to the provider's schema.
    """
    for key, value in payload.items():
        where = f"{prefix}{key}"
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, dict):
                found = find_control_character(text, f"{where}.")
                if found is not None:
                    return found
            elif isinstance(text, str) and not text.isprintable():  # isprintable: a fast no
                control = _CONTROL.search(text)
                if control is not None:
                    return where, _control_problem(control.group(), control.start() + 1)
    return None


def _control_problem(char: str, position: int) -> str:
    code = ord(char)
    message = f"contains the control character U+{code:04X} at position {position}"
    if code == 0:
        return f"{message} (a NUL byte: the export is damaged); remove it"
    if 0x80 <= code <= 0x9F:
        return f"{message}; if the file comes from Windows or Excel, read it with --encoding cp1252"
    return f"{message}; remove it"


def _invalid(
    row: int, field: str, message: str, email: object, tenant: str | None = None
) -> Outcome:
    if isinstance(email, str) and len(email) > _SHOWN_EMAIL:
        email = email[:_SHOWN_EMAIL] + "..."
    return Outcome(
        row=row,
        status=Status.INVALID,
        field=field,
        message=message,
        email=email if isinstance(email, str) else None,
        tenant_id=tenant,
    )


def _tenant(payload: dict[str, Any], tenant_field: str | None) -> str | None:
    """The row's tenant id as the input had it, for the report of an invalid row."""
    value = payload.get(tenant_field) if tenant_field else None
    return str(value) if value is not None and value != "" else None
