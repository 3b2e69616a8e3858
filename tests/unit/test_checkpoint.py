from __future__ import annotations

import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.checkpoint import Checkpoint, decisions
from sync.checkpoint_binding import Binding
from sync.checkpoint_file import SCHEMA_VERSION, read_makers, read_status
from sync.cli import cli
from sync.errors import ConfigError
from sync.models import Action, Candidate, Outcome, PlanEntry, Status, Strategy

BINDING = Binding("hash", "identity", "dub", "http://127.0.0.1:1", "acct")
STRATEGY = Strategy("lookup", "cheaper", 2)


def entries() -> list[PlanEntry]:
    c = Candidate(row=1, payload={"email": "a@x.com"}, email="a@x.com", tenant_id=None)
    return [
        PlanEntry(row=1, action=Action.CREATE, candidate=c),
        PlanEntry(row=2, action=Action.EXISTS, remote_id="pn_2", message="matched by email"),
        PlanEntry(row=3, action=Action.INVALID, field="email", message="bad"),
    ]


def test_plan_journal_and_resume(tmp_path: Path):
    path = tmp_path / "run.checkpoint"
    with Checkpoint.open(path) as checkpoint:
        assert not checkpoint.has_plan
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        checkpoint.mark_sending(1)
    with Checkpoint.open(path) as checkpoint:
        assert checkpoint.has_plan and checkpoint.strategy == STRATEGY
        checkpoint.check_binding(BINDING)
        assert checkpoint.rows_to_send() == [(1, "sending")]
        checkpoint.mark_done(Outcome(row=1, status=Status.CREATED, remote_id="pn_1"))
        assert checkpoint.rows_to_send() == []
        assert checkpoint.journal()[1][:2] == ("created", "pn_1")
    meta, counts = read_status(path)
    assert counts == {"created": 1, "exists": 1, "invalid": 1}
    assert "acct" in meta["binding"]


def test_transient_failures_are_retried_by_the_next_run_but_refusals_are_not(tmp_path: Path):
    with Checkpoint.open(tmp_path / "c") as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        checkpoint.mark_done(Outcome(row=1, status=Status.FAILED, message="503"), retryable=True)
        assert checkpoint.rows_to_send() == [(1, "failed")]
        checkpoint.mark_done(Outcome(row=1, status=Status.FAILED, message="refused"))
        assert checkpoint.rows_to_send() == []


def test_another_job_is_refused_with_what_changed_and_how_to_start_over(tmp_path: Path):
    path = tmp_path / "c"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        other = Binding("other", "identity", "dub", "http://127.0.0.1:1", "acct2")
        with pytest.raises(ConfigError) as caught:
            checkpoint.check_binding(other)
    message = str(caught.value)
    assert "input file's content" in message and "API key" in message and "--restart" in message


def test_second_run_on_the_same_checkpoint_is_refused(tmp_path: Path):
    path = tmp_path / "c"
    with Checkpoint.open(path), pytest.raises(ConfigError, match="another partner-sync run"):
        Checkpoint.open(path)
    with Checkpoint.open(path):  # released on close
        pass


def test_files_are_private_and_hold_no_key(tmp_path: Path):
    path = tmp_path / "c"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_not_a_checkpoint(tmp_path: Path):
    path = tmp_path / "c"
    path.write_text("hello, this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a partner-sync checkpoint"):
        Checkpoint.open(path)
    with pytest.raises(ConfigError, match="no checkpoint"):
        read_status(tmp_path / "missing")


def test_the_sending_mark_is_synced_to_disk_before_it_returns(tmp_path: Path):
    """A `sending` mark lost to a power cut would turn into a resend without a lookup."""
    with Checkpoint.open(tmp_path / "c") as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        statements: list[str] = []
        checkpoint._db.set_trace_callback(statements.append)
        checkpoint.mark_sending(1)
        checkpoint.mark_done(Outcome(row=1, status=Status.CREATED, remote_id="pn_1"))
        checkpoint._db.set_trace_callback(None)
        synchronous = checkpoint._db.execute("PRAGMA synchronous").fetchone()[0]
    sending = statements.index(next(s for s in statements if "UPDATE rows SET state" in s))
    assert statements[: sending + 2] == [
        "PRAGMA synchronous=FULL",
        "BEGIN IMMEDIATE",
        statements[sending],
        "COMMIT",
    ]
    assert statements[sending + 2] == "PRAGMA synchronous=NORMAL"
    assert "PRAGMA synchronous=FULL" not in statements[sending + 2 :]  # the rest: NORMAL
    assert synchronous == 1  # NORMAL


def test_a_checkpoint_closed_cleanly_reopens_without_its_log(tmp_path: Path):
    path = tmp_path / "c"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
    assert not path.with_name("c-wal").exists()  # folded into the file on close
    with Checkpoint.open(path) as checkpoint:
        assert checkpoint.has_plan


def test_status_of_a_damaged_checkpoint_says_how_to_start_over(tmp_path: Path):
    path = tmp_path / "c"
    path.write_bytes(b"\x00garbage" * 2000)
    with pytest.raises(ConfigError, match="not a partner-sync checkpoint") as caught:
        read_status(path)
    assert "--restart" in str(caught.value)


EARLIER = r"created by an earlier run at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_a_row_created_by_an_earlier_run_is_reported_as_such(tmp_path: Path):
    path = tmp_path / "run.checkpoint"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        checkpoint.mark_sending(1)
        checkpoint.mark_done(Outcome(row=1, status=Status.CREATED, remote_id="pn_1"))
        # The run that created it reports it created.
        assert checkpoint.reported_rows()[0][1:3] == ("created", "pn_1")
    with Checkpoint.open(path) as checkpoint:
        row, state, remote_id, message, _ = checkpoint.reported_rows()[0]
        assert (row, state, remote_id) == (1, "exists", "pn_1")
        assert re.fullmatch(EARLIER, message)
        assert checkpoint.journal()[1][0] == "created"  # the journal itself is unchanged
        # The rows the plan settled keep their own words.
        assert checkpoint.reported_rows()[1][1:4] == ("exists", "pn_2", "matched by email")


def test_a_create_sent_by_a_stopped_run_is_credited_to_it(tmp_path: Path):
    path = tmp_path / "run.checkpoint"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        checkpoint.mark_sending(1)  # ... and the run is killed before the answer
    with Checkpoint.open(path) as checkpoint:
        # The next run's lookup finds the partner: the stopped run's create made it.
        assert checkpoint.rows_to_send() == [(1, "sending")]
        checkpoint.mark_done(Outcome(row=1, status=Status.CREATED, remote_id="pn_1"))
        row, state, remote_id, message, _ = checkpoint.reported_rows()[0]
        assert (row, state, remote_id) == (1, "exists", "pn_1") and re.fullmatch(EARLIER, message)


def test_a_failed_create_sent_again_by_this_run_is_this_runs(tmp_path: Path):
    path = tmp_path / "run.checkpoint"
    with Checkpoint.open(path) as checkpoint:
        checkpoint.save_plan(BINDING, decisions(entries()), STRATEGY)
        checkpoint.mark_sending(1)
        failed = Outcome(row=1, status=Status.FAILED, message="timed out")
        checkpoint.mark_done(failed, retryable=True)
    with Checkpoint.open(path) as checkpoint:
        checkpoint.mark_sending(1)
        checkpoint.mark_done(Outcome(row=1, status=Status.INVITED, remote_id="pn_1"))
        assert checkpoint.reported_rows()[0][1:3] == ("invited", "pn_1")
    with Checkpoint.open(path) as checkpoint:
        message = checkpoint.reported_rows()[0][3]
        assert re.fullmatch(EARLIER.replace("created", "invited"), message)


def _first_format_checkpoint(path: Path, rows: str) -> None:
    """A checkpoint as the first format wrote it (no creation columns), holding `rows`."""
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE rows (row INTEGER PRIMARY KEY, state TEXT NOT NULL, remote_id TEXT, "
            "message TEXT NOT NULL DEFAULT '', field TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
            "retryable INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO meta VALUES ('version', '1');" + rows
        )
    db.close()


def test_a_checkpoint_of_the_first_format_gains_the_creation_columns(tmp_path: Path):
    path = tmp_path / "old.checkpoint"
    _first_format_checkpoint(
        path,
        "INSERT INTO rows (row, state, remote_id) VALUES (1, 'created', 'pn_1');"
        "INSERT INTO rows (row, state) VALUES (2, 'create');"
        "INSERT INTO rows (row, state) VALUES (3, 'sending');",
    )
    with Checkpoint.open(path) as checkpoint:
        # Created before the format recorded when: an earlier run, time unknown.
        assert checkpoint.reported_rows()[0][1:4] == ("exists", "pn_1", "created by an earlier run")
        checkpoint.mark_sending(2)
        checkpoint.mark_done(Outcome(row=2, status=Status.CREATED, remote_id="pn_2"))
        assert checkpoint.reported_rows()[1][1] == "created"
        # Sent by a run of the first format, found by this one's lookup: that run's.
        checkpoint.mark_done(Outcome(row=3, status=Status.CREATED, remote_id="pn_3"))
        assert checkpoint.reported_rows()[2][1:4] == ("exists", "pn_3", "created by an earlier run")


def test_an_upgraded_checkpoint_records_the_format_it_now_has(tmp_path: Path):
    path = tmp_path / "old.checkpoint"
    _first_format_checkpoint(
        path, "INSERT INTO rows (row, state, remote_id) VALUES (1, 'created', 'pn_1');"
    )
    # `status` reads it as it is, before any run upgrades it.
    assert read_status(path)[0]["version"] == "1"
    assert read_makers(path) == [("created", None, 1)]
    with Checkpoint.open(path) as checkpoint:
        assert checkpoint.meta()["version"] == str(SCHEMA_VERSION) == "2"
    assert read_status(path)[0]["version"] == "2"
    with Checkpoint.open(path) as again:  # opened again: nothing left to upgrade
        assert again.meta()["version"] == "2"


def test_status_says_which_run_made_how_many_of_a_resumed_plan(tmp_path: Path):
    path = tmp_path / "run.checkpoint"
    made = [Candidate(row=n, payload={}, email=f"p{n}@x.com", tenant_id=None) for n in (1, 2, 3)]
    plan = [PlanEntry(row=c.row, action=Action.CREATE, candidate=c) for c in made]
    with Checkpoint.open(path) as first:  # a run stopped after one create
        first.save_plan(BINDING, decisions(plan), STRATEGY)
        first.mark_sending(1)
        first.mark_done(Outcome(row=1, status=Status.CREATED, remote_id="pn_1"))
    with Checkpoint.open(path) as resumed:  # the run that finished the job
        for row in (2, 3):
            resumed.mark_sending(row)
            resumed.mark_done(Outcome(row=row, status=Status.CREATED, remote_id=f"pn_{row}"))
        resumed.mark_finished()
    with sqlite3.connect(path) as db:
        (first_at,), (resumed_at,) = db.execute(
            "SELECT MIN(sent_at) FROM rows GROUP BY sent_run ORDER BY 1, MIN(row)"
        ).fetchall()
    shown = CliRunner().invoke(cli, ["status", "--checkpoint", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "3/3 rows settled (finished)" in shown.output
    assert (
        "  created    3\n"
        f"    1 by the run that first sent at {first_at}\n"
        f"    2 by the run that first sent at {resumed_at}\n"
    ) in shown.output
    as_json = json.loads(
        CliRunner().invoke(cli, ["status", "--checkpoint", str(path), "--json"]).output
    )
    assert as_json["made_by_runs"] == [
        {"state": "created", "first_sent_at": first_at, "rows": 1},
        {"state": "created", "first_sent_at": resumed_at, "rows": 2},
    ]
