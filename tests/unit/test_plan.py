from __future__ import annotations

from sync.models import Action, Candidate, Outcome, RemotePartner, Status
from sync.plan import RemoteIndex, build_plan, returned_partner_problem


def cand(row: int, email: str, tenant: str | None = None) -> Candidate:
    payload = {"email": email, **({"tenantId": tenant} if tenant else {})}
    return Candidate(row=row, payload=payload, email=email, tenant_id=tenant)


def index(*partners: RemotePartner) -> RemoteIndex:
    result = RemoteIndex()
    result.extend(partners)
    return result


A = RemotePartner("pn_a", "a@x.com", "t-a")
B = RemotePartner("pn_b", "b@x.com", None)


def actions(entries):
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
    entries = build_plan(candidates, invalid, index(A, B))
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
    assert entries[0].candidate is not None and entries[1].remote_id == "pn_a"
    assert "row 3" in entries[4].message and "row 1" in entries[5].message


def test_conflicts():
    entries = build_plan(
        [cand(1, "b@x.com", "t-a"), cand(2, "a2@x.com", None), cand(3, "a@x.com", "t-q")],
        [],
        index(A, B),
    )
    assert entries[0].action is Action.CONFLICT  # tenant -> A, email -> B
    assert "pn_a" in entries[0].message and "pn_b" in entries[0].message
    assert entries[1].action is Action.CREATE
    assert entries[2].action is Action.CONFLICT  # email of A, whose tenant differs
    assert entries[2].remote_id == "pn_a"


def test_index_ignores_a_partner_seen_twice():
    moved = RemotePartner("pn_a", "a@x.com", "t-a")
    idx = index(A, moved, B)
    assert len(idx) == 2


def test_returned_partner_is_checked_against_what_was_sent():
    sent = cand(1, "b@x.com", "t-a")
    assert returned_partner_problem(sent, RemotePartner("pn_a", "a@x.com", "t-a"))
    assert returned_partner_problem(sent, RemotePartner("pn_b", "B@x.com", "t-other"))
    assert returned_partner_problem(sent, RemotePartner("pn_b", "B@X.com", "t-a")) is None


def test_a_returned_partner_older_than_the_create_existed_before():
    from sync.plan import existed_before

    sent_at = 1_800_000_000.0
    old = RemotePartner("pn_a", "a@x.com", created_at="2020-01-01T00:00:00.000Z")
    fresh = RemotePartner("pn_b", "b@x.com", created_at="2027-01-15T08:00:00.000Z")
    assert existed_before(old, sent_at)
    assert not existed_before(fresh, sent_at)
    assert not existed_before(RemotePartner("pn_c", "c@x.com"), sent_at)
    assert not existed_before(RemotePartner("pn_d", "d@x.com", created_at="yesterday"), sent_at)
