"""A mapping applied to columns gives, row by row, the payload `BoundMapping.apply` gives."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.columnar.mapping import PER_ROW, ROW, map_frame
from sync.mapping import TRANSFORMS, CellError, bind_mapping, parse_mapping, set_path
from sync.sources.table import numbered

from .strategies import cell

COLUMNS = ["a", "b", "c"]
TARGETS = ["email", "name", "tenantId", "linkProps.tagNames", "linkProps.externalId"]

sources = st.one_of(
    st.fixed_dictionaries({"column": st.sampled_from(COLUMNS)}),
    st.fixed_dictionaries(
        {
            "join": st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=3, unique=True),
            "separator": st.sampled_from([" ", ", ", ""]),
        }
    ),
    st.fixed_dictionaries({"value": st.one_of(st.text(max_size=4), st.integers(0, 3))}),
)
rule = st.builds(
    lambda source, transforms, default, optional: {
        **source,
        **({"transforms": transforms} if transforms else {}),
        **({"default": default} if default is not None else {}),
        **({"optional": True} if optional else {}),
    },
    sources,
    st.lists(st.sampled_from(sorted(TRANSFORMS)), max_size=3),
    st.one_of(st.none(), st.text(max_size=3), st.integers(0, 2)),
    st.booleans(),
)
specs = st.dictionaries(st.sampled_from(TARGETS), rule, max_size=4)
tables = st.lists(st.fixed_dictionaries({name: cell for name in COLUMNS}), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(specs, st.booleans(), tables)
def test_columns_give_the_row_payload(fields, passthrough, records):
    mapping = bind_mapping(
        parse_mapping({"fields": fields, "passthrough": passthrough}, source="t", digest="d"),
        COLUMNS,
        ["a", *TARGETS],
    )
    frame = numbered(pl.DataFrame(records, schema={name: pl.String for name in COLUMNS}))
    mapped = map_frame(frame, mapping)
    result = mapped.collect()
    for record, values in zip(records, result.iter_rows(named=True), strict=True):
        try:
            expected = mapping.apply(record)
        except CellError:
            assert values[PER_ROW]  # only a row-by-row transform can fail on a cell
            continue
        if values[PER_ROW]:
            continue  # the row-by-row path builds this payload
        payload: dict = {}
        for target in mapped.targets:
            if values[target] is not None:
                set_path(payload, target, values[target])
        assert payload == expected, (record, values[ROW])
