"""The per-row report (CSV or JSON Lines) and the run's summary counts."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from sync.errors import UsageError
from sync.files import write_private
from sync.models import Outcome

COLUMNS = ("row", "status", "remote_id", "email", "tenant_id", "field", "message")

# A cell starting with one of these is a formula to a spreadsheet (CSV injection): prefix it
# with an apostrophe so it is shown as text. OWASP's list.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_format(path: Path) -> str:
    """ "csv" or "jsonl" from the file's extension.

    Raises:
        UsageError: the extension is neither.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UsageError(
        f"cannot tell the report format of {path}",
        hint="end the --report file name in .csv or .jsonl",
    )


def write_report(path: Path, outcomes: Iterable[Outcome]) -> None:
    """Write one line per row, atomically (temp file + rename), readable by the owner only."""
    fmt = report_format(path)
    buffer = io.StringIO()
    if fmt == "csv":
        # CRLF, as RFC 4180 has it: the csv module quotes a value holding a lone CR only when CR
        # is part of the line terminator, and an unquoted CR splits the row for every reader.
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for outcome in outcomes:
            writer.writerow([_safe_cell(value) for value in _values(outcome)])
    else:
        for outcome in outcomes:
            buffer.write(
                json.dumps(dict(zip(COLUMNS, _values(outcome), strict=True)), ensure_ascii=False)
            )
            buffer.write("\n")
    write_private(path, buffer.getvalue())


def summarize(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(outcome.status.value for outcome in outcomes)


def problems(outcomes: Sequence[Outcome], limit: int) -> list[Outcome]:
    """The first rows that need a person's attention, for the summary."""
    wanted = {"invalid", "conflict", "failed"}
    return [outcome for outcome in outcomes if outcome.status.value in wanted][:limit]


def _values(outcome: Outcome) -> tuple[object, ...]:
    return (
        outcome.row,
        outcome.status.value,
        outcome.remote_id or "",
        outcome.email or "",
        outcome.tenant_id or "",
        outcome.field or "",
        outcome.message,
    )


def _safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
