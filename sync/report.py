"""The per-row report (CSV or JSON Lines) and the words of the run's summary counts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from sync.errors import ReportError, UsageError
from sync.files import private_path
from sync.models import Outcome, RunSummary, Status
from sync.outcomes import COLUMNS, Outcomes

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


def write_report(path: Path, outcomes: Outcomes | Iterable[Outcome]) -> None:
    """Write one line per row, atomically (temp file + rename), readable by the owner only.

    CSV lines end in CRLF, as RFC 4180 has it, and a value is quoted only when it holds the
    separator, a quote or a line break (what the csv module writes); a value a spreadsheet would
    run as a formula starts with an apostrophe. JSON Lines holds one object per row.

    Raises:
        ReportError: the file could not be written (it is then left as it was).
    """
    fmt = report_format(path)
    if not isinstance(outcomes, Outcomes):
        outcomes = Outcomes.of(outcomes)
    text_columns = [name for name in COLUMNS if name != "row"]
    frame = outcomes.frame.select(COLUMNS)
    if fmt == "csv":
        formula = pl.lit(False)
        for start in _FORMULA_STARTS:
            formula = formula | pl.col(text_columns).str.starts_with(start)
        safe = pl.when(formula).then("'" + pl.col(text_columns)).otherwise(pl.col(text_columns))
        # An empty value is written bare, as the csv module writes it, not as "".
        frame = frame.with_columns(pl.when(safe != "").then(safe).name.keep())
    else:
        frame = frame.with_columns(pl.col(text_columns).fill_null(""))
    try:
        # polars writes the file itself, by name: no copy of the whole report in memory.
        with private_path(path) as temporary:
            if fmt == "csv":
                frame.write_csv(
                    temporary, line_terminator="\r\n", quote_style="necessary", null_value=""
                )
            else:
                frame.write_ndjson(temporary)
    except OSError as exc:  # a full disk, a directory gone since the start: no old report lost
        raise ReportError(
            f"cannot write the report {path}: {exc.strerror or exc}; the old report, if any, "
            "is unchanged"
        ) from None


def summary_counts(summary: RunSummary, *, invite: bool = False, source: str | None = None) -> str:
    """The summary's counts per status, in words that add up to the rows of the report.

    `created` (or `invited`) counts only this run's; the partners earlier runs made are
    `exists`, and said to be theirs. A run without rows says why there is nothing to do:
    `source` names the platform a migration read from.
    """
    if not summary.total_rows:
        if source is not None:
            return f"the source account ({source}) has no partners; nothing to migrate"
        return "the input has no rows; nothing to send"
    words = ", ".join(f"{name} {count}" for name, count in sorted(summary.counts.items()))
    if summary.created_earlier:
        made = Status.INVITED.value if invite else Status.CREATED.value
        this_run = summary.counts.get(made, 0)
        words += f"; {made} {this_run} this run ({summary.created_earlier} by earlier runs)"
    return words
