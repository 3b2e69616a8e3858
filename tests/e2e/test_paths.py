"""Careless paths: the CLI refuses colliding or unwritable files before the first request, says
how to start over from a damaged checkpoint, and loses nothing when the report cannot be written.

Runs in-process (click's runner) against a sandbox on loopback: the same code as the command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from sync.checkpoint import Checkpoint
from sync.sandbox import Sandbox

from .conftest import (
    ROOT,
    Run,
    assert_resumed,
    cli_env,
    email_counts,
    read_report,
    run_cli,
    statuses,
    sync_args,
    write_roster,
)

ROWS = 4


def invoke(args: Sequence[str]) -> Run:
    """In this directory: some tests here give paths relative to it."""
    return run_cli(args, env=cli_env(), cwd=Path.cwd())


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox("dub")


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    write_roster(path, ROWS)
    return path


def refused(result: Run, code: int, *words: str) -> None:
    assert result.escaped is None, result.escaped
    assert result.code == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def nothing_sent(sandbox: Sandbox) -> None:
    assert sandbox.stats.total == 0, sandbox.stats.requests
    assert sandbox.partners() == []


# --- 1. collisions -------------------------------------------------------------------------


def _report_is_input(tmp: Path, roster: Path) -> list[str]:
    return ["--report", str(roster)]


def _report_is_input_spelled_otherwise(tmp: Path, roster: Path) -> list[str]:
    return ["--report", f"./{roster.name}"]  # run from tmp: relative against absolute


def _report_is_a_symlink_to_the_input(tmp: Path, roster: Path) -> list[str]:
    (tmp / "link.csv").symlink_to(roster)
    return ["--report", str(tmp / "link.csv")]


def _report_is_a_hard_link_to_the_input(tmp: Path, roster: Path) -> list[str]:
    (tmp / "hard.csv").hardlink_to(roster)
    return ["--report", str(tmp / "hard.csv")]


def _report_is_the_checkpoint(tmp: Path, roster: Path) -> list[str]:
    return ["--report", str(tmp / "state.csv"), "--checkpoint", str(tmp / "sub/../state.csv")]


def _report_is_the_checkpoints_wal(tmp: Path, roster: Path) -> list[str]:
    (tmp / "wal.csv").symlink_to(tmp / "run.checkpoint-wal")  # dangling until SQLite makes it
    return ["--report", str(tmp / "wal.csv")]


def _report_is_the_checkpoints_snapshot(tmp: Path, roster: Path) -> list[str]:
    return ["--report", str(tmp / "run.checkpoint.source.csv")]


def _checkpoint_is_the_input(tmp: Path, roster: Path) -> list[str]:
    return ["--checkpoint", str(roster)]


def _report_is_the_mapping(tmp: Path, roster: Path) -> list[str]:
    mapping = tmp / "mapping.csv"
    mapping.write_text('[fields.email]\ncolumn = "email"\n')
    return ["--report", str(mapping), "--mapping", str(mapping)]


COLLISIONS = [
    (_report_is_input, "the input and the report"),
    (_report_is_input_spelled_otherwise, "the input and the report"),
    (_report_is_a_symlink_to_the_input, "the input and the report"),
    (_report_is_a_hard_link_to_the_input, "the input and the report"),
    (_report_is_the_checkpoint, "the report and the checkpoint"),
    (_report_is_the_checkpoints_wal, "the report and the checkpoint's -wal file"),
    (_report_is_the_checkpoints_snapshot, "the report and the checkpoint's source snapshot"),
    (_checkpoint_is_the_input, "the input and the checkpoint"),
    (_report_is_the_mapping, "the report and the mapping"),
]


@pytest.mark.parametrize(
    ("arrange", "words"), COLLISIONS, ids=[arrange.__name__[1:] for arrange, _ in COLLISIONS]
)
def test_colliding_files_are_refused_before_anything_is_read_or_sent(
    sandbox: Sandbox,
    roster: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    arrange: Callable[[Path, Path], list[str]],
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    given = roster.read_bytes()
    before = sorted(path.name for path in tmp_path.iterdir())
    extra = arrange(tmp_path, roster)
    result = invoke(sync_args(sandbox, tmp_path, roster, *extra))
    refused(result, 2, words, "are the same file")
    assert roster.read_bytes() == given
    made = sorted(path.name for path in tmp_path.iterdir())
    assert set(made) - set(before) <= {"link.csv", "hard.csv", "wal.csv", "mapping.csv"}
    nothing_sent(sandbox)


def test_a_plan_report_may_not_land_on_the_checkpoint_a_sync_keeps(
    sandbox: Sandbox, roster: Path, tmp_path: Path
) -> None:
    journal = roster.with_name("roster.csv.dub.checkpoint")  # the default of a sync
    (tmp_path / "plan.csv").symlink_to(journal)
    args = sync_args(sandbox, tmp_path, roster, command="plan", report="plan.csv")
    refused(invoke(args), 2, "the report and the checkpoint are the same file")
    nothing_sent(sandbox)


def test_a_plan_report_over_its_input_is_refused(
    sandbox: Sandbox, roster: Path, tmp_path: Path
) -> None:
    given = roster.read_bytes()
    args = sync_args(sandbox, tmp_path, roster, command="plan", report=roster.name)
    refused(invoke(args), 2, "the input and the report are the same file")
    assert roster.read_bytes() == given
    nothing_sent(sandbox)


# --- 2. files that cannot be written ---------------------------------------------------------


def _report_in_a_missing_directory(tmp: Path) -> tuple[list[str], str]:
    return ["--report", str(tmp / "missing" / "report.csv")], "does not exist"


def _report_under_a_regular_file(tmp: Path) -> tuple[list[str], str]:
    return ["--report", str(tmp / "roster.csv" / "report.csv")], "is a file, not a directory"


def _checkpoint_in_a_missing_directory(tmp: Path) -> tuple[list[str], str]:
    return ["--checkpoint", str(tmp / "gone" / "run.checkpoint")], "does not exist"


def _checkpoint_under_a_regular_file(tmp: Path) -> tuple[list[str], str]:
    return ["--checkpoint", str(tmp / "roster.csv" / "c")], "is a file, not a directory"


def _report_is_a_device(tmp: Path) -> tuple[list[str], str]:
    (tmp / "null.csv").symlink_to(os.devnull)
    return ["--report", str(tmp / "null.csv")], "not a regular file"


UNWRITABLE = [
    _report_in_a_missing_directory,
    _report_under_a_regular_file,
    _checkpoint_in_a_missing_directory,
    _checkpoint_under_a_regular_file,
    _report_is_a_device,
]


@pytest.mark.parametrize("arrange", UNWRITABLE, ids=[a.__name__[1:] for a in UNWRITABLE])
def test_a_file_that_cannot_be_written_stops_the_run_before_the_first_request(
    sandbox: Sandbox,
    roster: Path,
    tmp_path: Path,
    arrange: Callable[[Path], tuple[list[str], str]],
) -> None:
    before = {path.name for path in tmp_path.iterdir()}
    extra, why = arrange(tmp_path)
    result = invoke(sync_args(sandbox, tmp_path, roster, *extra))
    refused(result, 3, why, "nothing was sent")
    named = extra[1]
    assert str(Path(named).parent) in result.stderr or named in result.stderr
    # No stray file: neither a checkpoint nor a probe of the directories.
    assert {path.name for path in tmp_path.iterdir()} - before <= {"null.csv"}
    nothing_sent(sandbox)


def _read_only(directory: Path) -> Callable[[], None]:
    """Make `directory` unwritable, also for root (an immutable directory); returns the undo."""
    if os.geteuid() != 0:
        directory.chmod(0o500)
        return lambda: directory.chmod(0o700)
    chattr = shutil.which("chattr")
    done = chattr and subprocess.run([chattr, "+i", str(directory)], capture_output=True)
    if not done or done.returncode != 0:
        pytest.skip("running as root, and this file system cannot make a directory immutable")
    return lambda: subprocess.run([str(chattr), "-i", str(directory)], check=True)


def test_a_report_in_a_read_only_directory_stops_the_run_before_the_first_request(
    sandbox: Sandbox, roster: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    undo = _read_only(locked)
    try:
        result = invoke(sync_args(sandbox, tmp_path, roster, "--report", str(locked / "r.csv")))
    finally:
        undo()
    refused(result, 3, str(locked), "cannot create a file there")
    assert not (tmp_path / "run.checkpoint").exists()
    assert list(locked.iterdir()) == []
    nothing_sent(sandbox)


# --- 3. a report that fails at the end -------------------------------------------------------


def test_a_full_disk_at_the_report_loses_nothing_and_the_rerun_writes_it_sending_nothing(
    sandbox: Sandbox, roster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.contextmanager
    def disk_full(path: Path) -> Iterator[Path]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        yield path  # never reached: the file cannot be written

    args = sync_args(sandbox, tmp_path, roster)
    with monkeypatch.context() as patch:
        patch.setattr("sync.report.private_path", disk_full)
        first = invoke(args)
    refused(first, 1, "cannot write the report", "No space left on device", "run the same command")
    assert sandbox.stats.creates_committed == ROWS
    report = tmp_path / "report.csv"
    assert not report.exists()
    with Checkpoint.open(tmp_path / "run.checkpoint") as checkpoint:  # whole: it opens
        assert checkpoint.counts() == {"created": ROWS}
    sandbox.reset_stats()

    again = invoke(args)
    assert again.code == 0, again.stderr
    # The rerun created nobody: the report says who did.
    assert set(statuses(report).values()) == {"exists"} and len(statuses(report)) == ROWS
    assert all(
        line["message"].startswith("created by an earlier run at ") for line in read_report(report)
    )
    assert sandbox.stats.creates_committed == 0
    assert not [key for key in sandbox.stats.requests if key[0] == "POST"]
    assert max(email_counts(sandbox).values()) == 1


def test_a_full_disk_under_the_checkpoint_stops_cleanly_and_the_rerun_creates_nobody_twice(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = tmp_path / "roster.csv"
    emails = write_roster(roster, 60)
    args = sync_args(sandbox, tmp_path, roster, rate_limit="60000")
    save_plan = Checkpoint.save_plan

    def then_full(checkpoint: Checkpoint, *args: object, **kwargs: object) -> None:
        save_plan(checkpoint, *args, **kwargs)  # type: ignore[arg-type]
        pages = checkpoint._db.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's "disk is full" a few rows into the creates (3 pages more than the plan)
        checkpoint._db.execute(f"PRAGMA max_page_count={pages + 3}")

    with monkeypatch.context() as patch:
        patch.setattr(Checkpoint, "save_plan", then_full)
        first = invoke(args)
    refused(first, 1, "cannot write checkpoint", "full", "run the same command again")
    stopped_at = sandbox.stats.creates_committed
    assert stopped_at > 0  # it stopped while creating

    again = invoke(args)
    assert again.code == 0, again.stderr
    # The creates whose outcome the full disk kept from the journal are found by a lookup and
    # credited to the first run.
    assert_resumed(tmp_path / "report.csv", again.stdout, rows=60, killed_at=stopped_at)
    counts = email_counts(sandbox)
    assert len(counts) == len(emails) and max(counts.values()) == 1


# --- 4. a damaged checkpoint -----------------------------------------------------------------


def _random_bytes(checkpoint: Path) -> None:
    checkpoint.write_bytes(os.urandom(16384))


def _truncated(checkpoint: Path) -> None:
    with checkpoint.open("r+b") as handle:
        handle.truncate(checkpoint.stat().st_size // 2)


def _not_a_database(checkpoint: Path) -> None:
    checkpoint.write_text("email,name\nann@example.com,Ann\n" * 200)


def _foreign_tables(checkpoint: Path) -> None:
    import sqlite3

    checkpoint.unlink()
    with sqlite3.connect(checkpoint) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")


def _stop_mid_run(checkpoint: Path) -> None:
    """A run that dies with rows marked in its log (kill -9): -wal and -shm stay behind."""
    code = (
        "import os, sys\nfrom pathlib import Path\nfrom sync.checkpoint import Checkpoint\n"
        "c = Checkpoint.open(Path(sys.argv[1]))\n"
        f"for row in range(1, {ROWS + 1}):\n    c.mark_sending(row)\nos._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(checkpoint)], cwd=ROOT, check=False)
    assert checkpoint.with_name(checkpoint.name + "-wal").exists()


def _missing_wal(checkpoint: Path) -> None:
    _stop_mid_run(checkpoint)
    checkpoint.with_name(checkpoint.name + "-wal").unlink()


def _missing_wal_and_index(checkpoint: Path) -> None:
    _missing_wal(checkpoint)
    checkpoint.with_name(checkpoint.name + "-shm").unlink()


DAMAGE = [
    (_random_bytes, "not a partner-sync checkpoint"),
    (_truncated, "is damaged"),
    (_not_a_database, "not a partner-sync checkpoint"),
    (_foreign_tables, "it holds other tables: invoices"),
    (_missing_wal, "write-ahead log run.checkpoint-wal is missing"),
    (_missing_wal_and_index, "write-ahead log run.checkpoint-wal is missing"),
]


@pytest.mark.parametrize(("damage", "words"), DAMAGE, ids=[d.__name__[1:] for d, _ in DAMAGE])
def test_a_damaged_checkpoint_stops_before_any_request_and_restart_starts_over(
    sandbox: Sandbox,
    roster: Path,
    tmp_path: Path,
    damage: Callable[[Path], None],
    words: str,
) -> None:
    checkpoint = tmp_path / "run.checkpoint"
    args = sync_args(sandbox, tmp_path, roster)
    # Half the roster is created by a first run; the roster then grows.
    first = write_roster(roster, ROWS // 2)
    assert invoke(args).code == 0
    write_roster(roster, ROWS)
    damage(checkpoint)
    sandbox.reset_stats()

    result = invoke(args)
    refused(result, 3, words, "--restart", "creates nobody twice", "nothing was sent")
    nothing_sent_since_reset(sandbox)

    restarted = invoke([*args, "--restart"])
    assert restarted.code == 0, restarted.stderr
    report = statuses(tmp_path / "report.csv")
    assert sorted(report.values()) == ["created"] * (ROWS - len(first)) + ["exists"] * len(first)
    assert max(email_counts(sandbox).values()) == 1
    assert checkpoint.with_name("run.checkpoint.damaged").exists()


def nothing_sent_since_reset(sandbox: Sandbox) -> None:
    assert sandbox.stats.total == 0, sandbox.stats.requests


# --- 5. Parquet lists and structs in text fields -------------------------------------------


def test_a_parquet_list_or_struct_in_a_text_field_is_an_invalid_row_naming_its_type(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "roster.parquet"
    table = pa.table(
        {
            "email": ["ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
            "tenant_id": pa.array([["1", "2"], ["3"], None, []], pa.list_(pa.string())),
            "name": pa.array(
                [None, None, {"first": "Cy", "last": "Lee"}, None],
                pa.struct([("first", pa.string()), ("last", pa.string())]),
            ),
            # A list where the mapping splits one: tags, as Dub's default mapping has them.
            "tags": pa.array([None, None, None, ["vip", "eu"]], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, path)
    result = invoke(sync_args(sandbox, tmp_path, path))
    assert result.escaped is None and result.code == 1, result.stderr
    lines = {int(line["row"]): line for line in read_report(tmp_path / "report.csv")}
    assert [lines[row]["status"] for row in (1, 2, 3, 4)] == [
        "invalid",
        "invalid",
        "invalid",
        "created",
    ]
    assert (lines[1]["field"], lines[1]["message"]) == (
        "tenantId",
        "tenant_id: a list, expected text",
    )
    assert lines[2]["message"] == "tenant_id: a list, expected text"
    assert (lines[3]["field"], lines[3]["message"]) == ("name", "name: a struct, expected text")
    sent = sandbox.partners()
    assert [partner["email"] for partner in sent] == ["di@example.com"]
    assert sandbox.stats.creates_committed == 1


def test_a_report_over_the_keyless_sandbox_account_is_refused(roster: Path) -> None:
    """Without a key the run keeps the built-in sandbox's partners in INPUT.PROVIDER.sandbox.json:
    a report written there would replace the trial account with a CSV."""
    state = roster.with_name("roster.csv.dub.sandbox.json")
    result = run_cli(["sync", str(roster), "-p", "dub", "--report", str(state)], env=cli_env(None))
    assert result.escaped is None, result.escaped
    assert result.code == 2, result.stdout + result.stderr
    assert "the report and the built-in sandbox's account are the same file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not roster.with_name("roster.csv.dub.report.csv").exists()
