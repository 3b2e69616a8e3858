"""The columnar core: mapping, validation, duplicates and matching on whole columns (polars).

validate.py states the rules one row at a time, and remains the reference.
This package applies the same rules to whole columns, which is what lets a million-row roster be
planned in about a second rather than half a minute. It is, with the file source (sources/),
mapping.py and text.py, the only place that imports polars: everything it hands out (candidates,
plan entries, outcomes) is plain Python.

Nothing here restates a provider's schema: column checks are derived from the provider's pydantic
model (checks.py). Whatever the columns cannot decide (an unknown validator, a value that is not
text, a row sharing keys with others, a conflict) is decided by the row-by-row reference for the
rows concerned, so no rule is ever skipped; tests/columnar/ proves both paths agree.

    checks.py    column checks derived from a pydantic model
    validate.py  mapped columns + schema → valid rows (columns) + invalid outcomes
"""
