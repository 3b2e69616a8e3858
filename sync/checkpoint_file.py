"""The checkpoint's file: its format (the tables, and the steps that upgrade an older one), how it
is opened only once known whole, set aside when damaged, and read without the lock for `status`.

Everything is checked before anything is written: someone else's database is not given our
tables, and a file whose write-ahead log went missing is not resumed from (rows created since
would look unsent and be sent again).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sync.errors import ConfigError

SCHEMA_VERSION = 2
# What each format added to the one before, applied to an older checkpoint when it is opened.
MIGRATIONS = {
    # When a row's create was last sent, and by which run (one opening of the checkpoint).
    2: (
        "ALTER TABLE rows ADD COLUMN sent_at TEXT",
        "ALTER TABLE rows ADD COLUMN sent_run TEXT",
    ),
}
# Where --restart keeps a damaged checkpoint: beside it, under this suffix.
DAMAGED = ".damaged"
# NORMAL survives a killed process (the WAL is in the OS page cache); a power cut may lose the
# last transactions, which is safe for every mark but `sending` (see `mark_sending`).
SYNCHRONOUS = "NORMAL"

# Every table and index a checkpoint may hold is named here (a later format adds its own here
# too): a file with any other is another program's database, and is refused (`open_whole`).
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    row INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    remote_id TEXT,
    message TEXT NOT NULL DEFAULT '',
    field TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 0,
    -- When the row's create was last sent, and by which run: a later run reports a partner
    -- an earlier run made as such.
    sent_at TEXT,
    sent_run TEXT
);
CREATE INDEX IF NOT EXISTS rows_state ON rows (state);
-- What earlier runs learned about the account, kept across jobs so that a nightly run over a
-- grown roster costs calls in proportion to what is new.
CREATE TABLE IF NOT EXISTS known (
    email_key TEXT PRIMARY KEY,
    tenant_id TEXT,
    remote_id TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS known_tenant ON known (tenant_id);
CREATE TABLE IF NOT EXISTS refused (
    payload_hash TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    field TEXT,
    message TEXT NOT NULL,
    refused_at TEXT NOT NULL
);
"""


def read_status(path: Path) -> tuple[dict[str, str], Counter[str]]:
    """Meta and state counts of a checkpoint's latest plan, read without taking its lock (safe
    while a run is writing it: SQLite's WAL gives readers a consistent snapshot).

    Raises:
        ConfigError: there is no checkpoint at `path`, or it cannot be read.
    """
    with _reading(path) as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        counts = Counter(
            dict(connection.execute("SELECT state, COUNT(*) FROM rows GROUP BY state"))
        )
    return meta, counts


def read_makers(path: Path) -> list[tuple[str, str | None, int]]:
    """Which runs made the plan's partners: (state, when the run first sent one, how many) per
    run that sent the create (or invitation) of a `created` (`invited`) row, earliest first;
    rows of a format-1 checkpoint, which did not record it, count as one run's of unknown time.

    Raises:
        ConfigError: there is no checkpoint at `path`, or it cannot be read.
    """
    with _reading(path) as connection:
        columns = {name for _, name, *_ in connection.execute("PRAGMA table_info(rows)")}
        run, at = ("sent_run", "MIN(sent_at)") if "sent_run" in columns else ("NULL", "NULL")
        query = (
            f"SELECT state, {at}, COUNT(*) FROM rows WHERE state IN ('created', 'invited') "
            f"GROUP BY state, {run} ORDER BY state, 2, MIN(row)"
        )
        return [(state, when, count) for state, when, count in connection.execute(query)]


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the checkpoint at `path`, without its lock."""
    if not path.exists():
        raise ConfigError(f"no checkpoint at {path}", hint="pass the --checkpoint of a run")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        with contextlib.closing(connection):
            yield connection
    except sqlite3.DatabaseError as exc:
        ours = not any(word in str(exc) for word in ("not a database", "no such table"))
        raise Damaged(str(exc), ours=ours).error(path) from None


def side_files(path: Path) -> list[tuple[str, Path]]:
    """The files kept beside the checkpoint at `path`, each with what it is (for messages)."""
    return [
        (f"the checkpoint's {suffix} file", path.with_name(path.name + suffix))
        for suffix in _SIDE_SUFFIXES
    ]


# SQLite's write-ahead log, its index and its rollback journal; our lock; where --restart
# keeps a damaged checkpoint.
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", DAMAGED)


class Damaged(Exception):
    """The checkpoint file cannot be trusted; `ours` is False when it is not a checkpoint."""

    def __init__(self, why: str, *, ours: bool = True) -> None:
        super().__init__(why)
        self.why = why
        self.ours = ours

    def error(self, path: Path) -> ConfigError:
        what = (
            f"checkpoint {path} is damaged"
            if self.ours
            else (f"{path} is not a partner-sync checkpoint")
        )
        other = "" if self.ours else "; or pass another --checkpoint path"
        return ConfigError(
            f"{what} ({self.why}); nothing was sent",
            hint=f"to start over, run the same command with --restart: it keeps this file as "
            f"{path.name}{DAMAGED} and lists or looks up the account's partners again, which "
            "costs API calls but creates nobody twice (matching finds the partners that "
            f"exist){other}",
        )


def open_whole(path: Path, *, unclean: bool) -> sqlite3.Connection:
    """Connect to the checkpoint once it is known to be one, and whole.

    Everything is checked before anything is written to the file: someone else's database
    is not given our tables, nor switched to WAL.

    Raises:
        Damaged: what is wrong with the file.
    """
    lost = _lost_wal(path, unclean=unclean)
    if lost:
        raise Damaged(lost)
    try:
        _create_private(path)
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    except (OSError, sqlite3.OperationalError) as exc:  # checked writable, yet gone since
        raise ConfigError(f"cannot open checkpoint {path}: {exc}") from None
    try:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        foreign = sorted(n for n in names - _own_names() if not n.startswith("sqlite_"))
        if foreign:
            raise Damaged(f"it holds other tables: {', '.join(foreign[:5])}", ours=False)
        # A truncated or overwritten file may open and fail only at the first row read:
        # every page is read once now, before the run relies on it.
        verdict = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise Damaged(verdict)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        connection.executescript(SCHEMA)
        _migrate(connection)
    except sqlite3.DatabaseError as exc:
        connection.close()
        ours = "not a database" not in str(exc)
        raise Damaged(str(exc), ours=ours) from None
    except Damaged:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring an older checkpoint's tables to this format (`SCHEMA` makes new ones whole), and
    say so in its meta, in one transaction: a checkpoint says the format it has."""
    columns = {name for _, name, *_ in connection.execute("PRAGMA table_info(rows)")}
    if "sent_run" in columns:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        for version in sorted(MIGRATIONS):
            for statement in MIGRATIONS[version]:
                connection.execute(statement)
        connection.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", (str(SCHEMA_VERSION),)
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


@functools.cache
def _own_names() -> frozenset[str]:
    """The tables and indexes a checkpoint has (anything else belongs to another program)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.executescript(SCHEMA)
        return frozenset(name for (name,) in db.execute("SELECT name FROM sqlite_master"))


def _lost_wal(path: Path, *, unclean: bool) -> str | None:
    """Why the checkpoint's write-ahead log is missing with changes in it, or None.

    SQLite keeps the latest transactions in `-wal` until it folds them into the file, at the
    latest when the last connection closes (which removes it). Opened without it, the file
    shows an older journal: rows created since would look unsent and be sent again. Its index
    (`-shm`) counts the frames the log held; without the index, a run that did not close the
    checkpoint (`unclean`) may have left anything in it.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists() or not path.exists() or path.stat().st_size == 0:
        return None
    frames = _wal_frames(path.with_name(path.name + "-shm"))
    if frames == 0 or (frames is None and not unclean):
        return None
    return (
        f"its write-ahead log {wal.name} is missing, and with it the latest changes: "
        "resuming could send rows again that were already created"
    )


def _wal_frames(shm: Path) -> int | None:
    """The committed frames of the WAL as its index (-shm) counts them; None if unknown.

    The index starts with SQLite's WalIndexHdr, in the machine's byte order: `isInit` at
    byte 12, `mxFrame` (the last valid frame) at bytes 16-19."""
    try:
        with shm.open("rb") as handle:
            header = handle.read(48)
    except OSError:
        return None
    if len(header) < 48 or header[12] != 1:
        return None
    return int.from_bytes(header[16:20], sys.byteorder)


def set_aside(path: Path) -> None:
    """Keep a damaged checkpoint (and its log) as `.damaged`, so that a new one can start."""
    aside = path.with_name(path.name + DAMAGED)
    for suffix in ("", "-wal", "-journal"):
        target = aside.with_name(aside.name + suffix)
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(target)
        else:
            target.unlink(missing_ok=True)  # not to pair an older copy with this one
    path.with_name(path.name + "-shm").unlink(missing_ok=True)


def _create_private(path: Path) -> None:
    """Create the file readable by its owner only, before SQLite opens it."""
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
