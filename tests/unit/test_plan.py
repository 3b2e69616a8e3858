"""Duplicates and matching as `plan` and `sync` run them: on columns, with `decide` for the rows
the columns cannot settle alone."""

from __future__ import annotations

import polars as pl
import pytest

from sync import keys
from sync.index import ExistingPartners
from sync.models import Action, Candidate, Outcome, PlanEntry, RemotePartner, Status, email_key
from sync.plan import candidates_of, decide, match, needing_check, split_duplicates


def cand(row: int, email: str, tenant: str | None = None) -> Candidate:
    return Candidate(row=row, payload={}, email=email, tenant_id=tenant)


def keys_of(candidates: list[Candidate]) -> pl.DataFrame:
    """The valid rows' keys as validation hands them to the plan."""
    return pl.DataFrame(
        [(c.row, c.email, email_key(c.email), c.tenant_id) for c in candidates],
        schema={"row": pl.Int64, "email": pl.String, "key": pl.String, "tenant_id": pl.String},
        orient="row",
    )


def plan(
    candidates: list[Candidate],
    partners: list[RemotePartner],
    invalid: list[Outcome] | None = None,
    tenant_label: str = "tenantId",
) -> list[PlanEntry]:
    rows = split_duplicates(keys_of(candidates), tenant_label)
    return list(match(rows, invalid or [], ExistingPartners.of(partners), tenant_label).entries())


A = RemotePartner("pn_a", "a@x.com", "t-a")
B = RemotePartner("pn_b", "b@x.com", None)


def actions(entries: list[PlanEntry]) -> list[tuple[int, Action]]:
    return [(entry.row, entry.action) for entry in entries]


def test_every_class():
    candidates = [
        cand(1, "new@x.com", "t-new"),
        cand(2, "A@X.com"),  # exists: same email, case-folded
        cand(3, "b@x.com", "t-b"),  # exists: remote has no tenant
        cand(4, "other@x.com", "t-a"),  # exists by tenant id (email changed)
        cand(5, "b@x.com", "t-other"),  # duplicate of row 3 by email
        cand(6, "c@x.com", "t-new"),  # duplicate of row 1 by tenant
        cand(7, "a@x.com", "t-zzz"),  # duplicate of row 2 by email
    ]
    invalid = [Outcome(row=8, status=Status.INVALID, field="email", message="bad")]
    entries = plan(candidates, [A, B], invalid)
    assert actions(entries) == [
        (1, Action.CREATE),
        (2, Action.EXISTS),
        (3, Action.EXISTS),
        (4, Action.EXISTS),
        (5, Action.DUPLICATE),
        (6, Action.DUPLICATE),
        (7, Action.DUPLICATE),
        (8, Action.INVALID),
    ]
    assert entries[1].remote_id == "pn_a" and entries[1].message == "matched by email"
    assert entries[3].message == "matched by tenantId (remote email a@x.com)"
    assert entries[4].message == "same email as row 3"
    assert entries[5].message == "same tenantId as row 1"
    assert entries[7].field == "email" and entries[7].message == "bad"


def test_a_duplicate_claims_no_key_so_a_later_row_may_still_be_first():
    entries = plan(
        [cand(1, "a@x.com", "t1"), cand(2, "b@x.com", "t1"), cand(3, "b@x.com", "t2")], []
    )
    assert actions(entries) == [(1, Action.CREATE), (2, Action.DUPLICATE), (3, Action.CREATE)]


def test_conflicts_name_both_partners():
    entries = plan(
        [cand(1, "b@x.com", "t-a"), cand(2, "a2@x.com", None), cand(3, "a@x.com", "t-q")],
        [A, B],
    )
    assert entries[0].action is Action.CONFLICT  # tenant -> A, email -> B
    assert entries[0].message == (
        "tenantId belongs to pn_a (email a@x.com, tenantId t-a) but the email belongs to "
        "pn_b (email b@x.com)"
    )
    assert entries[0].field == "tenantId" and entries[0].remote_id == "pn_a"
    assert entries[1].action is Action.CREATE
    assert entries[2].action is Action.CONFLICT  # email of A, whose tenant differs
    assert entries[2].remote_id == "pn_a" and entries[2].field == "email"
    assert entries[2].message == (
        "the email belongs to pn_a (email a@x.com, tenantId t-a) with another tenantId"
    )


@pytest.mark.parametrize(
    "row",
    [cand(1, "a@x.com", "t-a"), cand(1, "moved@x.com", "t-a")],
    ids=["plain", "another email"],
)
def test_partneros_own_id_is_named_as_its_field_whichever_way_the_row_is_decided(row):
    # Partnero's `id` plays the tenant id's role: the message names `id`, as `decide` does,
    # whether the columns settle the row (same email) or `decide` does (another email).
    (entry,) = plan([row], [A], tenant_label="id")
    assert entry.action is Action.EXISTS
    assert entry.message.startswith("matched by id")
    assert entry.message == decide(row, None, A, "id").message


def test_the_columns_and_decide_agree_on_the_plain_rows():
    rows = [cand(1, "A@x.com", "t-a"), cand(2, "b@x.com", "t-b"), cand(3, "n@x.com", "t-n")]
    partners = [A, B]
    entries = plan(rows, partners)
    existing = ExistingPartners.of(partners)
    for row, entry in zip(rows, entries, strict=True):
        expected = decide(row, *existing.matching(row))
        assert (entry.action, entry.remote_id, entry.message) == (
            expected.action,
            expected.remote_id,
            expected.message,
        )


def test_the_index_keeps_a_partner_seen_twice_once_and_the_first_sighting_wins():
    moved = RemotePartner("pn_a", "moved@x.com", "t-moved")
    existing = ExistingPartners.of([A, moved, B])
    assert len(existing) == 2
    assert existing.matching(cand(1, "moved@x.com", "t-moved")) == (None, None)
    later = RemotePartner("pn_c", "A@x.com", "t-c")  # another partner with A's email
    existing.add([later])
    by_email, by_tenant = existing.matching(cand(1, "a@x.com", "t-c"))
    assert by_email is not None and by_email.id == "pn_a"
    assert by_tenant is not None and by_tenant.id == "pn_c"


def test_an_empty_key_matches_nothing():
    blank = [RemotePartner("pn_e", "", ""), RemotePartner("pn_f", None)]
    (entry,) = plan([cand(1, "x@x.com", None)], blank)
    assert entry.action is Action.CREATE
    existing = ExistingPartners.of(blank)
    assert len(existing) == 2
    assert list(existing.seen()) == []  # nothing to remember by an email key


def test_this_runs_answers_win_over_what_earlier_runs_remembered():
    existing = ExistingPartners.of([RemotePartner("pn_new", "a@x.com", "t-2")])
    existing.add_remembered({"a@x.com": ("t-1", "pn_old"), "b@x.com": (None, "pn_b")})
    entries = list(
        match(
            split_duplicates(keys_of([cand(1, "A@x.com", "t-2"), cand(2, "b@x.com", "t-9")])),
            [],
            existing,
        ).entries()
    )
    assert [(e.action, e.remote_id) for e in entries] == [
        (Action.EXISTS, "pn_new"),
        (Action.EXISTS, "pn_b"),
    ]
    # Only what this run's answers showed is remembered again.
    assert list(existing.seen()) == [("a@x.com", "t-2", "pn_new")]


def test_rows_to_check_are_those_never_seen_or_seen_with_another_tenant_id():
    rows = [
        cand(1, "a@x.com", "t-1"),  # seen with this tenant id
        cand(2, "B@x.com", None),  # seen (email key), no tenant id on the row
        cand(3, "c@x.com", "t-3"),  # seen with another tenant id
        cand(4, "d@x.com", "t-4"),  # seen without a tenant id
        cand(5, "e@x.com", None),  # never seen
    ]
    remembered = {
        "a@x.com": ("t-1", "pn_1"),
        "b@x.com": ("t-2", "pn_2"),
        "c@x.com": ("t-other", "pn_3"),
        "d@x.com": (None, "pn_4"),
    }
    picked = needing_check(keys_of(rows), remembered)
    assert [c.row for c in candidates_of(picked)] == [3, 5]
    assert needing_check(keys_of(rows), {}).height == 5


def test_keys_sharing_a_hash_are_still_told_apart(monkeypatch):
    rows = [cand(1, "ab@x.com", "t1"), cand(2, "cd@x.com", "t2"), cand(3, "ab@x.com", "t3")]
    partners = [RemotePartner("pn_1", "cd@x.com", "t1"), RemotePartner("pn_2", "ef@x.com", "t2")]
    expected = plan(rows, partners)
    # A hash that collides all the time: the length of the text.
    monkeypatch.setattr(
        keys, "text_hash", lambda column: pl.col(column).str.len_bytes().cast(pl.UInt64)
    )
    assert plan(rows, partners) == expected
    assert actions(expected) == [(1, Action.EXISTS), (2, Action.CONFLICT), (3, Action.DUPLICATE)]


def test_maybe_repeated_marks_every_repeated_text_and_only_those_a_hash_shares(monkeypatch):
    texts = pl.DataFrame({"t": ["ab", "cd", "ab", "xyz", "ef", "cd", "cd", "g"]})
    repeated = texts["t"].is_duplicated().to_list()
    assert keys.maybe_repeated(texts, "t").to_list() == repeated
    monkeypatch.setattr(
        keys, "text_hash", lambda column: pl.col(column).str.len_bytes().cast(pl.UInt64)
    )
    # Every text of two characters shares a hash with "ab": marked, to be checked exactly.
    marked = keys.maybe_repeated(texts, "t").to_list()
    assert marked == [True, True, True, False, True, True, True, False]


def test_first_sightings_are_exact_whatever_the_hashes_share(monkeypatch):
    texts = pl.DataFrame({"t": ["ab", None, "cd", "ab", None, "ef", "cd", "g"]})
    expected = texts["t"].is_first_distinct().to_list()
    assert keys.first_sightings(texts, "t").to_list() == expected
    monkeypatch.setattr(
        keys, "text_hash", lambda column: pl.col(column).str.len_bytes().cast(pl.UInt64)
    )
    seen = keys.sightings(texts, "t")
    assert seen.first.to_list() == expected
    assert not seen.distinct_hashes
    # Distinct texts whose hashes collide are joined by their texts, not by the hashes.
    distinct = texts.filter(seen.first & texts["t"].is_not_null())
    assert keys.HASH not in keys.with_hash(distinct, "t").columns
