"""The resumable journal of a run: one SQLite file, bound to its job, locked against a second run.

Each row moves `create → sending → created | exists | conflict | invalid | failed` (or is stored
with its final plan class straight away). Every change is its own transaction, so a crash at any
instant, kill -9 included, leaves a journal from which the same command finishes the job. Rows
found in `sending` are looked up at the provider before anything is sent again.

Nothing secret is stored: no API key (only a hash of it binds the account) and no payloads.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import secrets
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog

from sync.earlier_runs import EarlierRuns
from sync.errors import CheckpointError, ConfigError
from sync.models import Action, Outcome, PlanEntry, Status, Strategy, email_key
from sync.outcomes import EARLIER_RUN

SCHEMA_VERSION = 2
# What each format added to the one before, applied to an older checkpoint when it is opened.
_MIGRATIONS = {
    # When a row's create was last sent, and by which run (one opening of the checkpoint).
    2: (
        "ALTER TABLE rows ADD COLUMN sent_at TEXT",
        "ALTER TABLE rows ADD COLUMN sent_run TEXT",
    ),
}
# The `sent_run` of a row created before the format recorded it: an earlier run, time unknown.
_UNKNOWN_RUN = ""
# Outcomes that say the row's own create (or invitation) made the partner.
_MADE = (Status.CREATED.value, Status.INVITED.value)
SENDING = "sending"
# Where --restart keeps a damaged checkpoint: beside it, under this suffix.
DAMAGED = ".damaged"
# NORMAL survives a killed process (the WAL is in the OS page cache); a power cut may lose the
# last transactions, which is safe for every mark but `sending` (see `mark_sending`).
_SYNCHRONOUS = "NORMAL"

log = structlog.get_logger(__name__)
# What `rows_to_send` calls a failed row that may only be looked up, never sent again: its
# create was accepted (2xx) without the answer naming the partner.
LOOK_UP = "look up"
# The `retryable` column: 0 settled, 1 a transient failure to try again, 2 look up only.
_RETRY_SEND, _RETRY_LOOK_UP = 1, 2

# One plan decision as stored: (row, action, remote id, message, field).
Decision = tuple[int, str, str | None, str | None, str | None]
CREATE = Action.CREATE.value

# Every table and index a checkpoint may hold is named here (a later format adds its own here
# too): a file with any other is another program's database, and is refused (`_open_whole`).
_SCHEMA = """
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

# Parts of the binding that may change between jobs on one checkpoint (a grown roster, an edited
# mapping); the others name the account, and what was learned about it is only valid for it.
_JOB_FIELDS = frozenset({"input_hash", "mapping"})
# Outcomes that prove a partner is at the provider.
_PRESENT = frozenset({Status.CREATED, Status.EXISTS, Status.INVITED})


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint was made from; a run with any other value may not resume it."""

    input_hash: str
    mapping: str
    provider: str
    base_url: str
    account: str  # a hash of the API key, never the key
    mode: str = "create"

    def differences(self, other: Binding) -> list[str]:
        mine, theirs = asdict(self), asdict(other)
        return [name for name in mine if mine[name] != theirs[name]]


class Checkpoint:
    """An open, locked journal. Use `Checkpoint.open` and close it (or use `with`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, lock_fd: int) -> None:
        self.path = path
        self._db = connection
        self._lock_fd = lock_fd
        # This run: the creates it sends carry it, so that its report tells its own creates
        # from those of the run it resumes (or of an earlier job on the checkpoint).
        self.run = f"{_now()} {secrets.token_hex(6)}"

    @classmethod
    def open(cls, path: Path, *, restart: bool = False) -> Checkpoint:
        """Open (creating if needed) and lock the checkpoint at `path`, checked whole.

        Args:
            path: the checkpoint file.
            restart: a damaged checkpoint is set aside (`.damaged`) and a new one started.

        Raises:
            ConfigError: another run holds the lock, the file is not a checkpoint, or it is
                damaged; the message says how to start over and what that costs.
        """
        lock_fd = _lock(path)
        before = b""
        try:
            before = _mark_lock(lock_fd, _IN_USE)
            unclean = before == _IN_USE
            try:
                connection = _open_whole(path, unclean=unclean)
            except _Damaged as damage:
                if not restart:
                    raise damage.error(path) from None
                log.warning("damaged checkpoint set aside", checkpoint=str(path), why=damage.why)
                _set_aside(path)
                connection = _open_whole(path, unclean=False)
        except BaseException:
            with contextlib.suppress(ConfigError):
                _mark_lock(lock_fd, before)  # this run never used it
            os.close(lock_fd)
            raise
        checkpoint = cls(path, connection, lock_fd)
        version = checkpoint._meta("version")
        if version is not None and int(version) > SCHEMA_VERSION:
            checkpoint.close()
            raise ConfigError(
                f"{path} was written by a newer partner-sync (format {version})",
                hint="upgrade partner-sync",
            )
        return checkpoint

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        closed = False
        with contextlib.suppress(sqlite3.Error):
            self._db.close()  # the last connection folds the WAL into the file and removes it
            closed = True
        with contextlib.suppress(ConfigError):
            if closed:
                _mark_lock(self._lock_fd, b"")
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)

    # --- binding -------------------------------------------------------------------------

    @property
    def binding(self) -> Binding | None:
        raw = self._meta("binding")
        return Binding(**json.loads(raw)) if raw else None

    @property
    def has_plan(self) -> bool:
        return self._meta("planned_at") is not None

    def check_binding(self, binding: Binding) -> bool:
        """Decide whether this run resumes the stored job (True) or plans a new one (False).

        A finished job may be followed by another one on the same account (the nightly run over
        a grown roster); an unfinished job must be finished first.

        Raises:
            ConfigError: the stored job is unfinished and differs, or belongs to another
                account; the message names what differs and how to start over.
        """
        stored = self.binding
        if stored is None or not self.has_plan:
            return False
        differences = stored.differences(binding)
        if not differences:
            return True
        if set(differences) <= _JOB_FIELDS and self.finished:
            return False
        if differences:
            what = ", ".join(
                {
                    "input_hash": "the input file's content",
                    "mapping": "the mapping",
                    "provider": "the provider",
                    "base_url": "the base URL",
                    "account": "the API key (account)",
                    "mode": "create/invite mode",
                }[name]
                for name in differences
            )
            unfinished = "" if self.finished else " and that job is not finished"
            raise ConfigError(
                f"checkpoint {self.path} belongs to another job: {what} changed since it was "
                f"made{unfinished}",
                hint=f"to start over, pass --restart or delete {self.path}; "
                "to finish the old job, run it with its original input and options",
            )
        return True

    @property
    def finished(self) -> bool:
        """True when no row is left to send, retryable failures included."""
        return not self.rows_to_send()

    def reset(self) -> None:
        """Forget the job and everything learned about the account (for --restart)."""
        with self._transaction() as db:
            for table in ("rows", "meta", "known", "refused"):
                db.execute(f"DELETE FROM {table}")

    # --- what earlier runs learned -------------------------------------------------------

    def remember(self, partners: Iterable[tuple[str, str | None, str]]) -> None:
        """Record partners seen at the provider: (email key, tenant id, remote id)."""
        now = _now()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO known (email_key, tenant_id, remote_id, seen_at) "
                "VALUES (?, ?, ?, ?)",
                ((key, tenant, remote_id, now) for key, tenant, remote_id in partners),
            )

    def earlier_runs(self) -> EarlierRuns:
        return EarlierRuns(partners=self.known(), refusals=self.refusals())

    def known(self) -> dict[str, tuple[str | None, str]]:
        """Partners earlier runs saw, by email key: (tenant id, remote id)."""
        return {
            key: (tenant, remote_id)
            for key, tenant, remote_id in self._db.execute(
                "SELECT email_key, tenant_id, remote_id FROM known"
            )
        }

    def refusals(self) -> dict[str, tuple[str, str | None, str, str]]:
        """Creates the provider refused for cause, by payload hash: (status, field, message, at)."""
        return {
            digest: (status, field, message, at)
            for digest, status, field, message, at in self._db.execute("SELECT * FROM refused")
        }

    # --- plan ----------------------------------------------------------------------------

    def save_plan(
        self, binding: Binding, decisions: Iterable[Decision], strategy: Strategy
    ) -> None:
        """Store the whole plan in one transaction: from here on the run is resumable.

        `decisions` holds one (row, action, remote id, message, field) per input row."""
        with self._transaction() as db:
            db.execute("DELETE FROM rows")
            db.execute("DELETE FROM meta WHERE key = 'finished_at'")
            db.executemany(
                "INSERT INTO rows (row, state, remote_id, message, field) VALUES (?, ?, ?, ?, ?)",
                (
                    (row, _STATE_OF_ACTION[action], remote_id, message or "", field)
                    for row, action, remote_id, message, field in decisions
                ),
            )
            self._set_meta(db, "version", str(SCHEMA_VERSION))
            self._set_meta(db, "binding", json.dumps(asdict(binding)))
            self._set_meta(db, "strategy", json.dumps(asdict(strategy)))
            self._set_meta(db, "planned_at", _now())

    @property
    def strategy(self) -> Strategy | None:
        raw = self._meta("strategy")
        return Strategy(**json.loads(raw)) if raw else None

    # --- journal -------------------------------------------------------------------------

    def rows_to_send(self, *, retry_failed: bool = True) -> list[tuple[int, str]]:
        """Rows still to be created, with their state: `create`, `sending` (look up first),
        and, when asked, `failed` rows whose failure was transient (LOOK_UP for those that may
        only be looked up)."""
        query = "SELECT row, CASE WHEN state = ? AND retryable = ? THEN ? ELSE state END "
        query += "FROM rows WHERE state IN (?, ?)"
        params: list[Any] = [Status.FAILED.value, _RETRY_LOOK_UP, LOOK_UP, CREATE, SENDING]
        if retry_failed:
            query += " OR (state = ? AND retryable IN (?, ?))"
            params += [Status.FAILED.value, _RETRY_SEND, _RETRY_LOOK_UP]
        return [(row, state) for row, state in self._db.execute(query + " ORDER BY row", params)]

    def mark_sending(self, row: int) -> None:
        # On disk before the request leaves: a `sending` mark lost to a power cut would leave
        # the row `create`, and the next run would send it again without looking it up first.
        with self._transaction(durable=True) as db:
            db.execute(
                "UPDATE rows SET state = ?, attempts = attempts + 1, sent_at = ?, sent_run = ? "
                "WHERE row = ?",
                (SENDING, _now(), self.run, row),
            )

    def mark_done(
        self,
        outcome: Outcome,
        *,
        retryable: bool = False,
        refusal: str | None = None,
        look_up_only: bool = False,
    ) -> None:
        """Settle a row; what it taught about the account is remembered in the same transaction.

        Args:
            outcome: the row's final word.
            retryable: a transient failure the next run should try again.
            look_up_only: a failure the next run looks up but never sends again.
            refusal: the payload hash of a create the provider refused for cause, so that no
                later run sends the same row again.
        """
        with self._transaction() as db:
            if outcome.status in _PRESENT and outcome.email and outcome.remote_id:
                db.execute(
                    "INSERT OR REPLACE INTO known VALUES (?, ?, ?, ?)",
                    (email_key(outcome.email), outcome.tenant_id, outcome.remote_id, _now()),
                )
            if refusal is not None:
                db.execute(
                    "INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?, ?)",
                    (refusal, outcome.status.value, outcome.field, outcome.message, _now()),
                )
            # A partner made by a create is credited to the run that sent it (`sent_run`): this
            # run, or a stopped one whose create landed (found by this run's lookup).
            db.execute(
                "UPDATE rows SET state = ?, remote_id = ?, message = ?, field = ?, retryable = ?, "
                "sent_run = CASE WHEN ? THEN COALESCE(sent_run, ?) ELSE sent_run END "
                "WHERE row = ?",
                (
                    outcome.status.value,
                    outcome.remote_id,
                    outcome.message,
                    outcome.field,
                    _RETRY_LOOK_UP if look_up_only else int(retryable),
                    outcome.status.value in _MADE,
                    _UNKNOWN_RUN,
                    outcome.row,
                ),
            )

    def mark_finished(self) -> None:
        with self._transaction() as db:
            self._set_meta(db, "finished_at", _now())

    def journal(self) -> dict[int, tuple[str, str | None, str, str | None]]:
        """Every row's (state, remote_id, message, field)."""
        return {
            row: (state, remote_id, message, field)
            for row, state, remote_id, message, field in self.journal_rows()
        }

    def journal_rows(self) -> list[tuple[int, str, str | None, str, str | None]]:
        """Every row's (row, state, remote_id, message, field), in row order."""
        query = "SELECT row, state, remote_id, message, field FROM rows ORDER BY row"
        return self._db.execute(query).fetchall()

    def reported_rows(self) -> list[tuple[int, str, str | None, str, str | None]]:
        """`journal_rows` as this run reports them: a partner an earlier run made (created or
        invited) is `exists`, with when, so that `created` counts only this run's creates."""
        query = (
            "SELECT row, CASE WHEN earlier THEN ? ELSE state END, remote_id, "
            "CASE WHEN earlier THEN state || ? || COALESCE(' at ' || sent_at, '') "
            "ELSE message END, field FROM ("
            "SELECT *, state IN (?, ?) AND sent_run IS NOT ? AS earlier FROM rows) ORDER BY row"
        )
        params = (Status.EXISTS.value, EARLIER_RUN, *_MADE, self.run)
        return self._db.execute(query, params).fetchall()

    def counts(self) -> Counter[str]:
        return Counter(
            dict(self._db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state").fetchall())
        )

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    # --- storage -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction; a `durable` one is on disk (fsync'd) when COMMIT returns."""
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")  # not allowed inside a transaction
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:  # a full disk, an I/O error
            raise CheckpointError(
                f"cannot write checkpoint {self.path}: {exc}; every change before this one is kept",
                hint="make room, then run the same command again: a row whose outcome was not "
                "saved is looked up before anything is sent again",
            ) from None
        finally:
            if durable:
                self._db.execute(f"PRAGMA synchronous={_SYNCHRONOUS}")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def read_status(path: Path) -> tuple[dict[str, str], Counter[str]]:
    """Meta and state counts of a checkpoint, read without taking its lock (safe while a run
    is writing it: SQLite's WAL gives readers a consistent snapshot).

    Raises:
        ConfigError: there is no checkpoint at `path`.
    """
    if not path.exists():
        raise ConfigError(f"no checkpoint at {path}", hint="pass the --checkpoint of a run")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        with contextlib.closing(connection):
            meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
            counts = Counter(
                dict(connection.execute("SELECT state, COUNT(*) FROM rows GROUP BY state"))
            )
    except sqlite3.DatabaseError as exc:
        ours = not any(word in str(exc) for word in ("not a database", "no such table"))
        raise _Damaged(str(exc), ours=ours).error(path) from None
    return meta, counts


# The journal state a plan's action starts a row in.
_STATE_OF_ACTION = {
    Action.CREATE.value: CREATE,
    Action.EXISTS.value: Status.EXISTS.value,
    Action.CONFLICT.value: Status.CONFLICT.value,
    Action.DUPLICATE.value: Status.DUPLICATE.value,
    Action.INVALID.value: Status.INVALID.value,
    Action.SKIPPED.value: Status.SKIPPED.value,
}


def decisions(entries: Iterable[PlanEntry]) -> Iterator[Decision]:
    """Plan entries as the rows `Checkpoint.save_plan` stores."""
    for entry in entries:
        yield entry.row, entry.action.value, entry.remote_id, entry.message, entry.field


def side_files(path: Path) -> list[tuple[str, Path]]:
    """The files kept beside the checkpoint at `path`, each with what it is (for messages)."""
    return [
        (f"the checkpoint's {suffix} file", path.with_name(path.name + suffix))
        for suffix in _SIDE_SUFFIXES
    ]


# SQLite's write-ahead log, its index and its rollback journal; our lock; where --restart
# keeps a damaged checkpoint.
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", DAMAGED)
# The lock file holds this while a run has the checkpoint open: found there by the next run,
# it says the last one stopped without closing (a crash, kill -9, a power cut).
_IN_USE = b"in use\n"


class _Damaged(Exception):
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


def _open_whole(path: Path, *, unclean: bool) -> sqlite3.Connection:
    """Connect to the checkpoint once it is known to be one, and whole.

    Everything is checked before anything is written to the file: someone else's database
    is not given our tables, nor switched to WAL.

    Raises:
        _Damaged: what is wrong with the file.
    """
    lost = _lost_wal(path, unclean=unclean)
    if lost:
        raise _Damaged(lost)
    try:
        _create_private(path)
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    except (OSError, sqlite3.OperationalError) as exc:  # checked writable, yet gone since
        raise ConfigError(f"cannot open checkpoint {path}: {exc}") from None
    try:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        foreign = sorted(n for n in names - _own_names() if not n.startswith("sqlite_"))
        if foreign:
            raise _Damaged(f"it holds other tables: {', '.join(foreign[:5])}", ours=False)
        # A truncated or overwritten file may open and fail only at the first row read:
        # every page is read once now, before the run relies on it.
        verdict = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise _Damaged(verdict)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={_SYNCHRONOUS}")
        connection.executescript(_SCHEMA)
        _migrate(connection)
    except sqlite3.DatabaseError as exc:
        connection.close()
        ours = "not a database" not in str(exc)
        raise _Damaged(str(exc), ours=ours) from None
    except _Damaged:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring an older checkpoint's tables to this format (`_SCHEMA` makes new ones whole)."""
    columns = {name for _, name, *_ in connection.execute("PRAGMA table_info(rows)")}
    if "sent_run" in columns:
        return
    for version in sorted(_MIGRATIONS):
        for statement in _MIGRATIONS[version]:
            connection.execute(statement)


@functools.cache
def _own_names() -> frozenset[str]:
    """The tables and indexes a checkpoint has (anything else belongs to another program)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.executescript(_SCHEMA)
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


def _set_aside(path: Path) -> None:
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


def _mark_lock(fd: int, content: bytes) -> bytes:
    """Replace what the lock file says (synced to disk); returns what it said before.

    Raises:
        ConfigError: the lock file cannot be written.
    """
    try:
        before = os.pread(fd, 64, 0)
        os.ftruncate(fd, 0)
        os.pwrite(fd, content, 0)
        os.fsync(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the checkpoint lock: {exc.strerror}") from None
    return before


def _lock(path: Path) -> int:
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the checkpoint lock {lock_path}: {exc.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"another partner-sync run is using checkpoint {path}",
            hint="wait for it to finish (`partner-sync status` shows its progress), "
            "or give this run another --checkpoint",
        ) from None
    return fd


def _create_private(path: Path) -> None:
    """Create the file readable by its owner only, before SQLite opens it."""
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
