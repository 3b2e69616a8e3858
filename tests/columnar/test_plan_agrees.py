"""Duplicates and matching on columns give the entries `plan.build_plan` gives, row for row."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.columnar import keys
from sync.columnar.existing import ExistingPartners
from sync.columnar.plan import candidates_of, match, needing_check, split_keys
from sync.models import Candidate, Outcome, RemotePartner, Status, email_key
from sync.plan import Knowledge, RemoteIndex, build_plan

# Agreement of the two cores over many generated cases: the long tier (`pytest -m slow`).
pytestmark = pytest.mark.slow

EMAILS = ["a@x.com", "A@X.com", "b@x.com", "c@x.com", "d@x.com", "Straße@x.com"]
TENANTS = [None, None, "t1", "t2", "t3", ""]

candidate_rows = st.lists(
    st.tuples(st.sampled_from(EMAILS), st.sampled_from(TENANTS), st.booleans()),
    min_size=1,
    max_size=10,
)
remote = st.lists(
    st.builds(
        RemotePartner,
        st.sampled_from(["pn_1", "pn_2", "pn_3", "pn_4", "pn_5"]),
        st.one_of(st.none(), st.sampled_from([*EMAILS, "", "STRASSE@x.com"])),
        st.sampled_from(TENANTS),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(candidate_rows, remote)
def test_columns_plan_as_the_rows_do(rows, partners):
    candidates, invalid = [], []
    for number, (email, tenant, valid) in enumerate(rows, start=1):
        if valid:
            candidates.append(Candidate(number, {"email": email}, email, tenant))
        else:
            invalid.append(Outcome(number, Status.INVALID, field="email", message="bad"))
    index = RemoteIndex()
    index.extend(partners)
    expected = build_plan(candidates, invalid, index)

    keys = pl.DataFrame(
        [(c.row, c.email, email_key(c.email), c.tenant_id) for c in candidates],
        schema={"row": pl.Int64, "email": pl.String, "key": pl.String, "tenant_id": pl.String},
        orient="row",
    )
    existing = ExistingPartners()
    existing.extend(partners)
    plan = match(split_keys(keys), invalid, existing)
    strip = lambda entry: entry.__class__(**{**_fields(entry), "candidate": None})  # noqa: E731
    assert [strip(entry) for entry in plan.entries()] == [strip(entry) for entry in expected]


def _fields(entry):
    return {name: getattr(entry, name) for name in entry.__slots__}


@settings(max_examples=100, deadline=None)
@given(candidate_rows, remote)
def test_keys_sharing_a_hash_are_still_told_apart(rows, partners):
    # A hash that collides all the time: the length of the text.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            keys, "text_hash", lambda column: pl.col(column).str.len_bytes().cast(pl.UInt64)
        )
        test_columns_plan_as_the_rows_do.hypothesis.inner_test(rows, partners)


known_partners = st.dictionaries(
    st.sampled_from([email_key(email) for email in EMAILS]),
    st.tuples(st.sampled_from(TENANTS), st.sampled_from(["pn_1", "pn_2"])),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(candidate_rows, known_partners)
def test_columns_pick_the_rows_to_check_as_knowledge_does(rows, known):
    candidates = [
        Candidate(number, {}, email, tenant)
        for number, (email, tenant, _) in enumerate(rows, start=1)
    ]
    knowledge = Knowledge(known=known, refusals={})
    keys = pl.DataFrame(
        [(c.row, c.email, email_key(c.email), c.tenant_id) for c in candidates],
        schema={"row": pl.Int64, "email": pl.String, "key": pl.String, "tenant_id": pl.String},
        orient="row",
    )
    picked = needing_check(keys, known)
    assert list(candidates_of(picked)) == [c for c in candidates if knowledge.needs_check(c)]
