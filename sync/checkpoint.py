"""The resumable journal of a run: one SQLite file, bound to its job, locked against a second run.

Each row moves `create → sending → created | exists | conflict | invalid | failed` (or is stored
with its final plan class straight away). Every change is its own transaction, so a crash at any
instant, kill -9 included, leaves a journal from which the same command finishes the job. Rows
found in `sending` are looked up at the provider before anything is sent again.

Nothing secret is stored: no API key (only a hash of it binds the account) and no payloads.
The file's format and its opening are in `checkpoint_file.py`, the lock in `checkpoint_lock.py`,
which job it belongs to in `checkpoint_binding.py`; this module is the journal itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import structlog

from sync.checkpoint_binding import Binding, resumes
from sync.checkpoint_file import SCHEMA_VERSION, SYNCHRONOUS, Damaged, open_whole, set_aside
from sync.checkpoint_lock import IN_USE, mark_lock, take_lock
from sync.earlier_runs import EarlierRuns
from sync.errors import CheckpointError, ConfigError
from sync.models import Action, Outcome, PlanEntry, Status, Strategy, email_key
from sync.outcomes import EARLIER_RUN

# The `sent_run` of a row created before the format recorded it: an earlier run, time unknown.
_UNKNOWN_RUN = ""
# Outcomes that say the row's own create (or invitation) made the partner.
_MADE = (Status.CREATED.value, Status.INVITED.value)
SENDING = "sending"

log = structlog.get_logger(__name__)
# What `rows_to_send` calls a failed row that may only be looked up, never sent again: its
# create was accepted (2xx) without the answer naming the partner.
LOOK_UP = "look up"
# The `retryable` column: 0 settled, 1 a transient failure to try again, 2 look up only.
_RETRY_SEND, _RETRY_LOOK_UP = 1, 2

# One plan decision as stored: (row, action, remote id, message, field).
Decision = tuple[int, str, str | None, str | None, str | None]
CREATE = Action.CREATE.value

# Outcomes that prove a partner is at the provider.
_PRESENT = frozenset({Status.CREATED, Status.EXISTS, Status.INVITED})


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
        lock_fd = take_lock(path)
        before = b""
        try:
            before = mark_lock(lock_fd, IN_USE)
            unclean = before == IN_USE
            try:
                connection = open_whole(path, unclean=unclean)
            except Damaged as damage:
                if not restart:
                    raise damage.error(path) from None
                log.warning("damaged checkpoint set aside", checkpoint=str(path), why=damage.why)
                set_aside(path)
                connection = open_whole(path, unclean=False)
        except BaseException:
            with contextlib.suppress(ConfigError):
                mark_lock(lock_fd, before)  # this run never used it
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
                mark_lock(self._lock_fd, b"")
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
        return resumes(stored, binding, finished=self.finished, path=self.path)

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
                self._db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
