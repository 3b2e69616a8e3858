"""Properties of reading, mapping, validating and planning, for any input hypothesis can think of.

- every input row ends with exactly one outcome (design.md, invariant 2);
- an invalid row always names its field;
- a duplicate always points at an earlier row with the same key, which is not itself a duplicate;
- nothing is planned as `create` when a partner with its email (trimmed, case-folded) or its
  tenantId already exists.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from support.rows import Row, validate_rows

from sync.catalog import default_mapping
from sync.checked_input import CheckedInput
from sync.errors import InputError
from sync.index import ExistingPartners
from sync.mapping import PROBLEM, PROBLEM_FIELD, ROW, map_frame
from sync.mapping_rules import TRANSFORM_NAMES
from sync.mapping_spec import bind_mapping, identity_mapping, load_mapping, parse_mapping
from sync.models import (
    Action,
    Candidate,
    Outcome,
    PlanEntry,
    RemotePartner,
    Status,
    email_key,
    trim,
)
from sync.pipeline import read_input
from sync.plan import split_duplicates
from sync.planning import plan_rows
from sync.providers.dub import Dub
from sync.report import write_report
from sync.settings import Settings
from sync.sources.file import read_table
from sync.sources.table import CONTROL, FIELDS, NUMBER, numbered
from sync.sources.table import PROBLEM as READER_PROBLEM
from sync.validate import validate_frame

DUB = Dub()
DUB_MAPPING = default_mapping("dub")
assert DUB_MAPPING is not None
COLUMNS = ["email", "first_name", "last_name", "tenant_id", "username", "country", "tags"]
MAPPING = bind_mapping(load_mapping(DUB_MAPPING), COLUMNS, DUB.known_fields())

# A small pool of keys, written in many ways, so that duplicates and matches are frequent.
LOCAL_PARTS = ["ann", "bob", "Cy.Ho", "d_e", "x+tag"]
DOMAINS = ["example.com", "Example.COM", "exаmple.com", "ex.co.uk"]  # one has a Cyrillic а
PADDINGS = ["", " ", "\t", "\u00a0", "\u200b", "\ufeff", "  \u200b "]
PADDING = st.sampled_from(PADDINGS)
TENANTS = st.sampled_from(["t-1", "t-2", "T-1", " t-3", "t-4\n"])


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.sampled_from(LOCAL_PARTS))
    if draw(st.booleans()):
        local = local.upper()
    address = f"{local}@{draw(st.sampled_from(DOMAINS))}"
    return draw(PADDING) + address + draw(PADDING)


CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="ascii"), max_size=12),
    st.sampled_from(["US", "de", "Austria", "=1+1", "-x", "@y", "a,b", "_u", "0"]),
)


@st.composite
def input_rows(draw: st.DrawFn) -> list[Row]:
    count = draw(st.integers(min_value=0, max_value=25))
    rows = []
    number = 0
    for _ in range(count):
        number += draw(st.integers(min_value=1, max_value=3))  # blank lines leave gaps
        values = {column: draw(CELLS) for column in COLUMNS}
        values["email"] = draw(st.one_of(emails(), CELLS))
        values["tenant_id"] = draw(st.one_of(st.none(), TENANTS, CELLS))
        problem = draw(st.sampled_from([None] * 9 + ["line 9 has 3 fields but the header has 7"]))
        rows.append(Row(number, {} if problem else values, problem=problem))
    return rows


@st.composite
def remote_partners(draw: st.DrawFn) -> list[RemotePartner]:
    partners = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        email = draw(st.one_of(st.none(), emails()))
        tenant = draw(st.one_of(st.none(), TENANTS))
        partners.append(RemotePartner(f"pn_{n}", email.strip() if email else None, tenant))
    return partners


@st.composite
def roster_records(draw: st.DrawFn) -> list[dict[str, str | None]]:
    """Roster rows as a file holds them, keys drawn from the small pools above."""
    records = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        values = {column: draw(CELLS) for column in COLUMNS}
        values["email"] = draw(st.one_of(emails(), CELLS))
        values["tenant_id"] = draw(st.one_of(st.none(), TENANTS, CELLS))
        records.append(values)
    return records


def plan_of(
    records: list[dict[str, str | None]], remote: list[RemotePartner], columns: list[str] = COLUMNS
) -> tuple[CheckedInput, list[PlanEntry]]:
    """The plan `partner-sync plan` makes of a CSV file of these records, against these
    partners: the shipping path from the reader to the plan, the provider's answers aside."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "in.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([[record[name] or "" for name in columns] for record in records])
        settings = Settings(
            input=path,
            provider=DUB,
            base_url="http://127.0.0.1:9",  # never called: the partners are given
            api_key=SecretStr("unused"),
            mapping=DUB_MAPPING,
        )
        checked = asyncio.run(read_input(settings))
    rows = split_duplicates(checked.valid.keys, settings.tenant_label)
    existing = ExistingPartners.of(remote)
    plan = plan_rows(checked.valid, rows, existing, settings.tenant_label)
    return checked, list(plan.entries())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(rows=input_rows())
def test_every_row_gets_exactly_one_validation_outcome(rows: list[Row]):
    validated = validate_rows(rows, MAPPING, DUB.schema, DUB.tenant_field)
    seen = [c.row for c in validated.candidates()] + [o.row for o in validated.invalid]
    assert sorted(seen) == [row.number for row in rows]
    for outcome in validated.invalid:
        assert outcome.field, outcome
        assert outcome.message, outcome
    for row in rows:
        if row.problem is not None:
            (outcome,) = [o for o in validated.invalid if o.row == row.number]
            assert outcome.field == "row" and outcome.message == row.problem
    for candidate in validated.candidates():
        # What is sent is trimmed, ASCII and carries no empty field.
        assert candidate.email == candidate.email.strip() and candidate.email.isascii()
        assert all(value not in ("", None) for value in candidate.payload.values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=roster_records(), remote=remote_partners())
def test_the_plan_accounts_for_every_row_and_never_creates_what_exists(
    records: list[dict[str, str | None]], remote: list[RemotePartner]
):
    checked, entries = plan_of(records, remote)
    assert [entry.row for entry in entries] == list(checked.table.row_numbers)
    by_row = {entry.row: entry for entry in entries}
    candidates = checked.candidates(e.row for e in entries if e.action is not Action.INVALID)
    remote_keys = {p.key for p in remote if p.key}
    remote_tenants = {p.tenant_id for p in remote if p.tenant_id}
    remote_ids = {p.id for p in remote}
    for entry in entries:
        if entry.action is Action.INVALID:
            assert entry.field
            continue
        candidate = candidates[entry.row]
        if entry.action is Action.CREATE:
            assert candidate.key not in remote_keys
            assert candidate.tenant_id is None or candidate.tenant_id not in remote_tenants
        elif entry.action is Action.DUPLICATE:
            match = re.fullmatch(r"same (email|tenantId) as row (\d+)", entry.message)
            assert match is not None, entry.message
            earlier = int(match.group(2))
            assert earlier < entry.row
            assert by_row[earlier].action not in (Action.DUPLICATE, Action.INVALID)
            first = candidates[earlier]
            if match.group(1) == "email":
                assert first.key == candidate.key
            else:
                assert first.tenant_id == candidate.tenant_id is not None
        else:  # exists or conflict: it names a partner that is there
            assert entry.remote_id in remote_ids
    # The first row of each key is the one that is matched or created; later ones are duplicates.
    firsts = [entry for entry in entries if entry.action is Action.CREATE]
    assert len({candidates[e.row].key for e in firsts}) == len(firsts)


def test_padding_around_an_email_is_trimmed_and_never_changes_its_key():
    """Every padding of the pool on either side of every address, all in one frame."""
    cases = [
        (f"{local}@{domain}", before, after)
        for local in LOCAL_PARTS
        for domain in ("example.com", "ex.co.uk")
        for before in PADDINGS
        for after in PADDINGS
    ]
    rows = [
        Row(number, {"email": before + address + after, **dict.fromkeys(COLUMNS[1:])})
        for number, (address, before, after) in enumerate(cases, start=1)
    ]
    candidates = validate_rows(rows, MAPPING, DUB.schema, DUB.tenant_field).candidates()
    assert [candidate.row for candidate in candidates] == [row.number for row in rows]
    for candidate, (address, before, after) in zip(candidates, cases, strict=True):
        assert candidate.email == address
        assert candidate.key == email_key(address.upper()) == email_key(before + address + after)


HEADER_NAMES = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
    min_size=1,
    max_size=5,
    unique=True,
)
# Python's statement of `text.CONTROL`, which the reader's CONTROL column must agree with.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Cells as exports write them: any text but NUL-heavy binary, quoted by the csv writer as needed.
CSV_CELLS = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=HEADER_NAMES, data=st.data())
def test_reading_csv_gives_back_every_record_numbered_ragged_ones_flagged(
    tmp_path_factory, header: list[str], data: st.DataObject
):
    width = len(header)
    records = data.draw(
        st.lists(st.lists(CSV_CELLS, min_size=max(width - 1, 1), max_size=width + 1), max_size=12)
    )
    buffer = io.StringIO()
    # The writer quotes a lone CR only when it is part of its line terminator, so "\n" goes with
    # QUOTE_ALL: otherwise the file itself would hold a line break in the middle of a value.
    terminator, quoting = data.draw(
        st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL), ("\r", csv.QUOTE_ALL)])
    )
    writer = csv.writer(buffer, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    writer.writerows(records)
    path = Path(tmp_path_factory.mktemp("csv")) / "in.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    expected = []
    for number, record in enumerate(records, start=1):
        if not any(cell.strip() for cell in record) and len(record) == 1:
            continue  # a line that reads as blank is not a row
        expected.append((number, record))

    def fits(record: list[str]) -> bool:
        extra_blank = len(record) > width and not any(c.strip() for c in record[width:])
        return len(record) == width or extra_blank

    if expected and not any(fits(record) for _, record in expected):
        with pytest.raises(InputError, match="no row fits the header"):
            read_table(path)
        return
    table = read_table(path)

    assert table.columns == header
    assert table.row_numbers.to_list() == [number for number, _ in expected]
    rows = table.frame.iter_rows(named=True)
    for row, (_, record) in zip(rows, expected, strict=True):
        problem = row.pop(READER_PROBLEM)
        if fits(record):
            # Whether a cell holds a control character, said by the reader whichever read it.
            held = any(CONTROL_CHARACTER.search(cell) for cell in record[:width])
            assert row.pop(CONTROL) == held
            assert problem is None and row.pop(FIELDS) is None
            assert {name: row[name] for name in header} == {
                name: (cell or None) for name, cell in zip(header, record, strict=False)
            }
        else:
            assert problem is not None and "field" in problem
            assert row.pop(FIELDS) == record  # what it split into, kept beside it
            assert row.pop(CONTROL) is False  # a row with no cells holds none
            assert all(row[name] is None for name in header)


@settings(max_examples=100, deadline=None)
@given(
    emails_in=st.lists(emails(), min_size=1, max_size=10),
    remote=remote_partners(),
)
def test_a_key_that_exists_remotely_is_never_created_whatever_its_case_or_padding(
    emails_in: list[str], remote: list[RemotePartner]
):
    records: list[dict[str, str | None]] = [{"email": email} for email in emails_in]
    checked, entries = plan_of(records, remote, columns=["email"])
    existing = {email_key(p.email) for p in remote if p.email}
    creates = checked.candidates(e.row for e in entries if e.action is Action.CREATE)
    assert all(email_key(candidate.email) not in existing for candidate in creates.values())


def test_candidates_from_the_strategies_compare_by_trimmed_case_folded_email():
    # The pools above are only useful if padding and case really collide; check one by hand.
    a = Candidate(1, {}, "Ann@Example.com", None)
    assert email_key(" \u200bann@example.COM\u00a0") == a.key


@settings(max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda text: text.encode("utf-8")),
        st.lists(st.sampled_from(["a", ",", '"', "\n", "\r", ";", "\t", " ", "\x00", "é", "{"]))
        .map("".join)
        .map(lambda text: ("email," + text).encode("utf-8")),
    ),
    suffix=st.sampled_from([".csv", ".tsv", ".parquet"]),
)
def test_the_reader_reads_any_bytes_or_says_what_is_wrong(
    tmp_path_factory, data: bytes, suffix: str
):
    path = Path(tmp_path_factory.mktemp("fuzz")) / f"in{suffix}"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except InputError as error:
        assert str(error) and "\n" not in error.message
        return
    numbers = table.row_numbers.to_list()
    assert numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers)
    assert all(name and name == name.strip() for name in table.columns)
    assert table.frame.columns == [NUMBER, *table.columns, READER_PROBLEM, FIELDS, CONTROL]
    validated = validate_frame(
        table.frame, identity_for(table.columns), DUB.schema, DUB.tenant_field
    )
    assert len(validated) + len(validated.invalid) == table.height


def identity_for(columns: list[str]):
    return bind_mapping(identity_mapping(), columns, DUB.known_fields())


REPORT_TEXT = st.text(max_size=40) | st.sampled_from(["=1+1", "+x", "-y", "@z", "\tq", "\rr"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.tuples(REPORT_TEXT, REPORT_TEXT, REPORT_TEXT, st.sampled_from(list(Status))),
        max_size=8,
    )
)
def test_a_csv_report_holds_every_row_and_no_cell_a_spreadsheet_would_run(
    tmp_path_factory, cells: list[tuple[str, str, str, Status]]
):
    outcomes = [
        Outcome(row=n, status=status, email=email, tenant_id=tenant, message=message, field="f")
        for n, (email, tenant, message, status) in enumerate(cells, start=1)
    ]
    path = Path(tmp_path_factory.mktemp("report")) / "report.csv"
    write_report(path, outcomes)
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert [int(line["row"]) for line in lines] == [o.row for o in outcomes]
    for line, outcome in zip(lines, outcomes, strict=True):
        for column, value in (("email", outcome.email), ("message", outcome.message)):
            shown = line[column]
            assert not shown.startswith(("=", "+", "-", "@", "\t", "\r"))
            assert shown in (value, "'" + (value or ""))


MAPPED_COLUMNS = ["a", "b", "c"]
MAPPED_TARGETS = ["email", "name", "tenantId", "linkProps.tagNames", "linkProps.externalId"]
MAPPED_CELLS = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from([" ", "\u200b", "a, b", '"x"', "[1,", '{"k": 1}', "yes", "ß", "o'neil"]),
)
mapping_rules = st.builds(
    lambda source, transforms, default: {
        **source,
        **({"transforms": transforms} if transforms else {}),
        **({"default": default} if default is not None else {}),
    },
    st.one_of(
        st.fixed_dictionaries({"column": st.sampled_from(MAPPED_COLUMNS)}),
        st.fixed_dictionaries(
            {"join": st.lists(st.sampled_from(MAPPED_COLUMNS), min_size=1, max_size=3, unique=True)}
        ),
        st.fixed_dictionaries(
            {"coalesce": st.lists(st.sampled_from(MAPPED_COLUMNS), min_size=1, max_size=3)}
        ),
        st.fixed_dictionaries({"value": st.one_of(st.text(max_size=4), st.integers(0, 3))}),
    ),
    st.lists(st.sampled_from(TRANSFORM_NAMES), max_size=3),
    st.one_of(st.none(), st.text(max_size=3), st.integers(0, 2)),
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(MAPPED_TARGETS), mapping_rules, max_size=4),
    st.lists(st.fixed_dictionaries({name: MAPPED_CELLS for name in MAPPED_COLUMNS}), max_size=6),
)
def test_any_mapping_maps_every_row_and_names_the_problem_of_a_row_it_cannot_map(
    fields: dict, records: list[dict]
):
    bound = bind_mapping(
        parse_mapping({"fields": fields}, source="t", digest="d"),
        MAPPED_COLUMNS,
        [*MAPPED_TARGETS, "linkProps"],
    )
    frame = numbered(pl.DataFrame(records, schema={name: pl.String for name in MAPPED_COLUMNS}))
    mapped = map_frame(frame, bound)
    rows = mapped.frame.select(ROW, PROBLEM_FIELD, PROBLEM, *mapped.targets).collect().rows()
    assert [row[0] for row in rows] == list(range(1, len(records) + 1))
    for (_, field, problem, *cells), record in zip(rows, records, strict=True):
        if problem is not None:
            # Only JSON can fail on a cell; a value that is not an object cannot hold another.
            assert field in fields
            assert problem.startswith("cannot apply json") or "not an object" in problem
            continue
        payload = mapped.payload(cells)
        for target, rule in fields.items():
            if "value" in rule or rule.get("default") is not None:
                continue
            sources = rule.get("join") or rule.get("coalesce") or [rule["column"]]
            if all(not trim(record[name] or "") for name in sources):
                # An empty cell gives no key at all.
                *parents, leaf = target.split(".")
                node = payload
                for part in parents:
                    node = node.get(part, {})
                assert leaf not in node, (target, record)
