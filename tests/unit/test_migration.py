"""The status policy, the reading of referral codes, and verify's field comparison."""

from __future__ import annotations

from pathlib import Path

from sync.codes import code_not_kept
from sync.migration import StatusPolicy, parse_statuses, skipped_summary
from sync.models import Action, PlanEntry, RemotePartner, Status
from sync.providers.dub import Dub
from sync.providers.partnero import Partnero
from sync.providers.promotekit import PromoteKit
from sync.sources.file import read_table
from sync.verify import compare


def test_only_active_or_status_less_rows_move_unless_included(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text("email,status\na@x.io,active\nb@x.io,\nc@x.io, Banned \nd@x.io,pending\n")
    table = read_table(path)
    skipped = StatusPolicy(column="status").skipped(table)
    assert skipped.rows() == [(3, "banned"), (4, "pending")]
    line = skipped_summary(skipped)
    assert line is not None and "banned 1, pending 1" in line
    included = StatusPolicy(column="status", include=parse_statuses("Pending, invited"))
    assert included.skipped(table).rows() == [(3, "banned")]
    assert StatusPolicy().skipped(table).height == 0  # no status column: everyone moves


def test_neutral_codes_and_statuses_of_each_provider():
    dub = Dub().to_neutral(
        {"email": "a@x.io", "username": "ann-x7k2", "status": "approved", "links": [{"key": "Ann"}]}
    )
    assert (dub["referral_code"], dub["status"]) == ("Ann", "active")  # the link key, not username
    assert Dub().to_neutral({"email": "a@x.io", "status": "banned"})["status"] == "banned"
    partnero = Partnero().to_neutral(
        {
            "email": "a@x.io",
            "status": "active",
            "approved": False,
            "referral_link": "https://s?aff=k1",
        }
    )
    assert (partnero["referral_code"], partnero["status"]) == ("k1", "pending")
    kit = PromoteKit().to_neutral({"email": "a@x.io", "banned": True, "links": [{"code": "Q"}]})
    assert (kit["referral_code"], kit["status"]) == ("Q", "banned")


def test_a_suffixed_dub_key_is_named_and_a_kept_one_is_not():
    got = RemotePartner("pn_1", "a@x.io", codes=("clash-ab12",))
    message = code_not_kept(Dub(), "clash", got)
    assert message is not None and "'clash'" in message and "'clash-ab12'" in message
    assert code_not_kept(Dub(), "clash", RemotePartner("pn_1", "a@x.io", codes=("clash",))) is None
    # PromoteKit tells codes apart regardless of case.
    assert code_not_kept(PromoteKit(), "Ann", RemotePartner("1", "a@x.io", codes=("ann",))) is None


def test_verify_names_each_differing_field_and_compares_emails_as_matching_does():
    entry = PlanEntry(row=1, action=Action.EXISTS, remote_id="pn_1", email="A@x.io")
    payload = {"email": " A@X.io", "name": "Ann Jones", "username": "ann", "country": "DE"}
    record = {"email": "a@x.io", "name": "Ann Smith", "country": "DE", "links": [{"key": "ann"}]}
    outcome, unread = compare(Dub(), entry, payload, record)
    assert outcome.status is Status.DIFFERS and outcome.field == "name"
    assert outcome.message == "name: Ann Jones -> Ann Smith"
    record["name"] = "Ann Jones"
    assert compare(Dub(), entry, payload | {"linkProps": {"tagNames": ["x"]}}, record)[
        0
    ].status is (Status.SAME)
    record["links"] = [{"key": "ann-zz99"}]
    outcome, _ = compare(Dub(), entry, payload | {"name": "Ann Jones"}, record)
    assert outcome.field == "username" and outcome.message == "username: ann -> ann-zz99"
    _, unread = compare(Dub(), entry, {"linkProps": {"tagNames": ["x"]}}, record)
    assert unread == {"linkProps.tagNames"}
