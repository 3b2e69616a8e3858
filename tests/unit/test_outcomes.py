"""Outcomes as columns: counts, the rows shown on the terminal, the report's bytes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.rows import Row, validate_rows

from sync.mapping_spec import bind_mapping, identity_mapping
from sync.models import Action, Candidate, Outcome, PlanEntry, Status
from sync.outcomes import Outcomes
from sync.plan_frame import PlanFrame
from sync.providers.dub import Dub
from sync.report import write_report
from sync.run_result import plan_outcomes

OUTCOMES = [
    Outcome(row=1, status=Status.CREATED, remote_id="pn_1", email="a@x.com"),
    Outcome(row=2, status=Status.INVALID, field="email", message="not an email", email="@b"),
    Outcome(row=3, status=Status.PENDING, message="not finished", email="c@x.com"),
    Outcome(row=4, status=Status.CONFLICT, field="tenantId", message="taken", tenant_id="t4"),
    Outcome(row=5, status=Status.FAILED, message="500", email="e@x.com"),
]

DUB = Dub()


def test_outcomes_count_and_pick_the_rows_to_show():
    outcomes = Outcomes.of(OUTCOMES)
    assert list(outcomes) == OUTCOMES
    assert outcomes.counts() == {
        "created": 1,
        "invalid": 1,
        "pending": 1,
        "conflict": 1,
        "failed": 1,
    }
    assert outcomes.problem_count() == 4  # pending makes the exit code 1 too
    assert [o.row for o in outcomes.problems(2)] == [2, 4]  # pending needs no fix: not shown
    assert [o.row for o in outcomes.problems(10)] == [2, 4, 5]


def test_plan_outcomes_say_what_would_happen_to_rows_to_create():
    plan = PlanFrame.of(
        [
            PlanEntry(row=1, action=Action.CREATE, email="a@x.com"),
            PlanEntry(row=2, action=Action.EXISTS, remote_id="p2", message="matched by email"),
            PlanEntry(row=3, action=Action.DUPLICATE, message="same email as row 1"),
        ]
    )
    created = list(plan_outcomes(plan, "create"))
    assert [(o.status, o.message) for o in created] == [
        (Status.CREATE, "would be created"),
        (Status.EXISTS, "matched by email"),
        (Status.DUPLICATE, "same email as row 1"),
    ]
    assert created[1].remote_id == "p2"
    assert next(iter(plan_outcomes(plan, "invite"))).message == "would be invited"


def test_a_replaced_row_keeps_the_plan_in_row_order():
    plan = PlanFrame.of([PlanEntry(row=n, action=Action.CREATE) for n in (1, 2, 3)])
    refused = PlanEntry(row=2, action=Action.INVALID, message="refused", field="email")
    changed = plan.replaced([refused])
    assert [(e.row, e.action) for e in changed.entries()] == [
        (1, Action.CREATE),
        (2, Action.INVALID),
        (3, Action.CREATE),
    ]
    assert plan.replaced([]) is plan


def test_the_valid_rows_give_their_keys_and_the_payloads_asked_for():
    rows = [
        Row(2, {"email": "B@x.com", "name": "B", "tenantId": "t"}),
        Row(5, {"email": "c@x.com"}),
    ]
    mapping = bind_mapping(identity_mapping(), ["email", "name", "tenantId"], DUB.known_fields())
    valid = validate_rows(rows, mapping, DUB.schema, DUB.tenant_field)
    candidates = [
        Candidate(
            row=2,
            payload={"email": "B@x.com", "name": "B", "tenantId": "t"},
            email="B@x.com",
            tenant_id="t",
        ),
        Candidate(row=5, payload={"email": "c@x.com"}, email="c@x.com", tenant_id=None),
    ]
    assert valid.keys.rows() == [(2, "B@x.com", "b@x.com", "t"), (5, "c@x.com", "c@x.com", None)]
    assert valid.candidates([5]) == [candidates[1]]
    assert valid.candidates() == candidates


CELL = st.text(max_size=12) | st.sampled_from(["", "=1", "a,b", 'q"q', "x\ny", "x\ry", "@", " "])


def _csv_module_report(outcomes: list[Outcome]) -> bytes:
    """What the csv module writes for these outcomes (formulas neutralised the same way)."""

    def safe(value: str) -> str:
        return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["row", "status", "remote_id", "email", "tenant_id", "field", "message"])
    for o in outcomes:
        values = [o.remote_id, o.email, o.tenant_id, o.field, o.message]
        writer.writerow([o.row, o.status.value, *(safe(v or "") for v in values)])
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(CELL, CELL, CELL, CELL, st.sampled_from(list(Status))), max_size=6))
def test_the_csv_report_is_byte_for_byte_what_the_csv_module_writes(tmp_path_factory, cells):
    outcomes = [
        Outcome(row=n, status=s, remote_id=r or None, email=e or None, tenant_id=t, message=m)
        for n, (r, e, t, m, s) in enumerate(cells, start=1)
    ]
    path = Path(tmp_path_factory.mktemp("report")) / "r.csv"
    write_report(path, outcomes)
    assert path.read_bytes() == _csv_module_report(outcomes)


def test_a_frame_of_outcomes_is_written_without_objects(tmp_path: Path):
    frame = pl.DataFrame(
        {"row": [1, 2], "status": ["exists", "create"], "message": ["matched", "would be created"]}
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias(name)
        for name in ("remote_id", "email", "tenant_id", "field")
    )
    path = tmp_path / "r.csv"
    write_report(path, Outcomes(frame))
    assert path.read_text(encoding="utf-8").splitlines()[1:] == [
        "1,exists,,,,,matched",
        "2,create,,,,,would be created",
    ]
