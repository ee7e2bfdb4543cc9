"""Every SQL statement about jobs and their deliveries; the one connection and its writer lock."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiosqlite

from bot import schema
from bot.db_lock import DatabaseInUse
from bot.db_lock import hold as _lock
from bot.db_lock import release as _unlock
from bot.jobs import (
    Delivery,
    Job,
    JobState,
    Mode,
    Stem,
    Subscription,
    check_transition,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Observer = Callable[[Job], None]
Admit = Callable[[], Awaitable[None]]  # runs inside the job's write transaction; raises to refuse

_OPEN = "('submitting', 'running')"


class StoreError(Exception):
    """The database cannot be used as it is (newer schema, unwritable file, ...)."""


def to_dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def job_from_row(row: sqlite3.Row) -> Job:
    stems = tuple(Stem(**s) for s in json.loads(row["stems"]))
    return Job(
        id=row["id"],
        music_task_id=row["music_task_id"],
        song_id=row["song_id"],
        mode=Mode(row["mode"]),
        state=JobState(row["state"]),
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        requester_id=row["requester_id"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        song_title=row["song_title"],
        remote_id=row["remote_id"],
        submitted_at=to_dt(row["submitted_at"]),
        finished_at=to_dt(row["finished_at"]),
        deadline_at=to_dt(row["deadline_at"]),
        error=row["error"],
        credits=row["credits"],
        callback_token=row["callback_token"],
        poll_count=row["poll_count"],
        stems=stems,
    )


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        job_id=row["job_id"],
        user_id=row["user_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        delivery=Delivery(row["delivery"]),
        attempts=row["attempts"],
        detail=row["detail"],
        message_id=row["message_id"],
    )


@dataclass(frozen=True)
class Cancelled:
    """What a cancel did: the job as it now is, how many deliveries stopped, who still waits."""

    job: Job
    stopped: int
    waiting: int
    ended: bool  # the job itself was cancelled (nobody waits any more)


async def _reopen_subscriptions(db: aiosqlite.Connection, job_id: int) -> None:
    """An ended job moves on: everyone told of the old ending (not the cancelled) waits again."""
    await db.execute(
        "UPDATE subscriptions SET delivery = 'waiting', attempts = 0, next_attempt_at = NULL,"
        " delivered_at = NULL, detail = NULL WHERE job_id = ? AND delivery != 'cancelled'",
        (job_id,),
    )


async def _settle_subscriptions(
    db: aiosqlite.Connection, job_id: int, new: JobState, now: float, shown_to: int | None
) -> None:
    if new == JobState.CANCELLED:
        await db.execute(
            "UPDATE subscriptions SET delivery = 'cancelled', delivered_at = ? WHERE job_id = ?"
            " AND delivery IN ('waiting', 'pending')",
            (now, job_id),
        )
        return
    if not new.is_terminal:
        return
    if shown_to is not None:
        await db.execute(
            "UPDATE subscriptions SET delivery = 'shown', delivered_at = ? WHERE job_id = ?"
            " AND user_id = ? AND delivery = 'waiting'",
            (now, job_id, shown_to),
        )
    await db.execute(
        "UPDATE subscriptions SET delivery = 'pending', next_attempt_at = ?"
        " WHERE job_id = ? AND delivery = 'waiting'",
        (now, job_id),
    )


class JobStore:
    """Owns the SQLite connection. Writes are serialised by one lock, in explicit transactions."""

    def __init__(
        self, db: aiosqlite.Connection, clock: Clock, lock_file: IO[bytes] | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._lock_file = lock_file
        self._write_lock = asyncio.Lock()
        self.observers: list[Observer] = []

    @classmethod
    async def open(
        cls, path: Path | str, *, clock: Clock = time.time, exclusive: bool = True
    ) -> JobStore:
        """Open (and migrate) the database. `exclusive`: this process is the one stembot on it.

        Two bots on one file would both poll and both deliver. The exclusive store holds a lock
        on `<db>.lock` for its life; the kernel drops it when the process dies, even on SIGKILL.
        Operator commands that only read or tidy (`stembot jobs`, `purge`) pass False.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = _lock(path) if exclusive else None
        except DatabaseInUse as exc:
            raise StoreError(str(exc)) from None
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            _unlock(lock_file)
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        db.row_factory = sqlite3.Row
        store = cls(db, clock, lock_file)
        try:
            await store._prepare()
        except BaseException:
            await store.close()
            raise
        return store

    async def _prepare(self) -> None:
        try:
            await self._db.execute("PRAGMA busy_timeout = 5000")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            await self._migrate()
            # A read-only file opens and reads fine; prove now that writes work, not mid-job.
            async with self.transaction() as db:
                await db.execute(f"PRAGMA user_version = {schema.LATEST}")
        except sqlite3.Error as exc:
            raise StoreError(f"the database is not usable: {exc}") from exc

    async def _migrate(self) -> None:
        version = await self.scalar("PRAGMA user_version")
        if version > schema.LATEST:
            raise StoreError(
                f"the database has schema version {version}, newer than this stembot knows "
                f"({schema.LATEST}); upgrade stembot instead of running an old version on it"
            )
        for number in range(version + 1, schema.LATEST + 1):
            async with self.transaction():
                for statement in schema.MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")
            log.info("database migrated to schema version %d", number)

    async def close(self) -> None:
        try:
            await self._db.close()
        finally:
            _unlock(self._lock_file)
            self._lock_file = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. Whatever fails in it, COMMIT included (SQLite keeps the
        transaction open after a busy or failed commit), it is rolled back: the connection is
        never left inside a transaction that every later BEGIN would trip over."""
        async with self._write_lock:
            if self._db.in_transaction:  # only a ROLLBACK that itself failed leaves one
                await self._rollback()
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        """Roll back what is open, if anything; a failure here must not hide the first one."""
        if not self._db.in_transaction:
            return
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rolling back a failed transaction failed; the next write retries it",
                        exc_info=True)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self._db.execute(sql, tuple(params)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    # --- jobs -------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        music_task_id: str,
        song_id: str,
        mode: Mode,
        song_title: str | None,
        guild_id: int | None,
        channel_id: int | None,
        requester_id: int | None,
        callback_token: str | None,
        estimated_credits: float,
        admit: Admit | None = None,
    ) -> Job:
        """Record a job about to be submitted, its requester, and its expected charge.

        `admit` runs inside the same write transaction, before anything is written: limits it
        checks there cannot be passed by a request racing this one (it raises to refuse).
        """
        async with self.transaction() as db:
            if admit is not None:
                await admit()
            now = self._clock()
            cursor = await db.execute(
                "INSERT INTO jobs (music_task_id, song_id, mode, state, guild_id, channel_id,"
                " requester_id, song_title, created_at, callback_token)"
                " VALUES (?, ?, ?, 'submitting', ?, ?, ?, ?, ?, ?)",
                (music_task_id, song_id, mode.value, guild_id, channel_id, requester_id,
                 song_title, now, callback_token),
            )
            job_id = cursor.lastrowid
            await db.execute(
                "INSERT INTO subscriptions (job_id, user_id, guild_id, channel_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, requester_id, guild_id, channel_id, now),
            )
            await db.execute(
                "INSERT INTO ledger (job_id, guild_id, user_id, at, credits)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, guild_id, requester_id, now, estimated_credits),
            )
            job = await self._get_in(db, int(job_id or 0))
        assert job is not None
        log.info("job %d: recorded (%s, %s)", job.id, job.mode, job.song_id)
        return job

    async def get(self, job_id: int) -> Job | None:
        found = await self.rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return job_from_row(found[0]) if found else None

    async def by_callback_token(self, token: str) -> Job | None:
        found = await self.rows("SELECT * FROM jobs WHERE callback_token = ?", (token,))
        return job_from_row(found[0]) if found else None

    async def find_open(self, music_task_id: str, song_id: str, mode: Mode) -> Job | None:
        found = await self.rows(
            f"SELECT * FROM jobs WHERE music_task_id = ? AND song_id = ? AND mode = ?"
            f" AND state IN {_OPEN}",
            (music_task_id, song_id, mode.value),
        )
        return job_from_row(found[0]) if found else None

    async def find_reusable(
        self, music_task_id: str, song_id: str, mode: Mode, *, max_age_s: float
    ) -> Job | None:
        found = await self.rows(
            "SELECT * FROM jobs WHERE music_task_id = ? AND song_id = ? AND mode = ?"
            " AND state = 'succeeded' AND finished_at >= ? ORDER BY finished_at DESC LIMIT 1",
            (music_task_id, song_id, mode.value, self._clock() - max_age_s),
        )
        return job_from_row(found[0]) if found else None

    async def open_jobs(self) -> list[Job]:
        found = await self.rows(f"SELECT * FROM jobs WHERE state IN {_OPEN}")
        return [job_from_row(r) for r in found]

    async def move(
        self, job: Job, new: JobState, *, told: bool = False, shown_to: int | None = None,
        refund: bool = False, **changes: Any,
    ) -> Job:
        """The one place a job changes state: check, write in a transaction, log, notify.

        Ending a job makes its requesters' deliveries due, except the one who saw the outcome
        already: `shown_to` (a user id), or the requester when `told`. Everyone else is told by
        a delivery. Moving an ended job on again (a re-check, an adopted submission) makes its
        deliveries due again: whoever was told the old ending is told the new one. `refund`
        drops the job's charge in the same transaction (the API refused it).
        """
        if told and shown_to is None:
            shown_to = job.requester_id
        async with self.transaction() as db:
            await self._write_move(db, job, new, shown_to, changes)
            if refund:
                await db.execute("DELETE FROM ledger WHERE job_id = ?", (job.id,))
            moved = await self._get_in(db, job.id)
        return self._moved(job, moved)

    async def _write_move(
        self, db: aiosqlite.Connection, job: Job, new: JobState, shown_to: int | None,
        changes: dict[str, Any],
    ) -> None:
        check_transition(job.state, new)
        now = self._clock()
        columns: dict[str, Any] = {"state": new.value}
        columns["finished_at"] = now if new.is_terminal else None
        for name, value in changes.items():
            if name == "stems":
                value = json.dumps([s.__dict__ for s in value])
            elif isinstance(value, datetime):
                value = value.timestamp()
            columns[name] = value
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor = await db.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ? AND state = ?",
            (*columns.values(), job.id, job.state.value),
        )
        if cursor.rowcount != 1:
            raise StoreError(f"job {job.id} is no longer {job.state}")
        if job.state.is_terminal:
            await _reopen_subscriptions(db, job.id)
        await _settle_subscriptions(db, job.id, new, now, shown_to)

    def _moved(self, job: Job, moved: Job | None) -> Job:
        """After the commit: log the move and tell the observers (status board, scheduler).

        No statement runs here: once a move is committed, nothing can fail and leave its
        caller believing it was not (a running job nobody tracks, a result never delivered)."""
        assert moved is not None
        log.info("job %d: %s -> %s", job.id, job.state, moved.state)
        for observer in self.observers:
            try:
                observer(moved)
            except Exception:
                log.exception("job %d: an observer of its move failed", job.id)
        return moved

    async def cancel(
        self, job: Job, *, user_id: int, guild_id: int | None = None, error: str
    ) -> Cancelled:
        """Stop `user_id`'s deliveries (and `guild_id`'s, for its admin); end the job if no one
        else waits. One transaction: a poll that ends the job meanwhile loses nothing."""
        async with self.transaction() as db:
            current = await self._get_in(db, job.id)
            if current is None or not current.is_open:
                return Cancelled(current or job, stopped=0, waiting=0, ended=False)
            whose, params = "user_id = ?", [job.id, user_id]
            if guild_id is not None:
                whose, params = "(user_id = ? OR guild_id = ?)", [*params, guild_id]
            cursor = await db.execute(
                "UPDATE subscriptions SET delivery = 'cancelled' WHERE job_id = ?"
                f" AND delivery = 'waiting' AND {whose}",
                params,
            )
            waiting = int(await self.scalar(
                "SELECT COUNT(*) FROM subscriptions WHERE job_id = ? AND delivery = 'waiting'",
                (job.id,),
            ))
            moved = None
            if waiting == 0 and current.state == JobState.RUNNING:
                await self._write_move(db, current, JobState.CANCELLED, None, {"error": error})
                moved = await self._get_in(db, job.id)
        if moved is not None:
            current = self._moved(current, moved)
        return Cancelled(current, stopped=int(cursor.rowcount), waiting=waiting,
                         ended=moved is not None)

    async def _get_in(self, db: aiosqlite.Connection, job_id: int) -> Job | None:
        async with db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else job_from_row(row)

    async def refund(self, job_id: int) -> None:
        """Drop a job's charge: the API refused it, so nothing was spent."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM ledger WHERE job_id = ?", (job_id,))

    async def settle_charge(self, job_id: int, credits: float) -> None:
        """Replace the estimated charge with what the API reported."""
        async with self.transaction() as db:
            await db.execute("UPDATE ledger SET credits = ? WHERE job_id = ?", (credits, job_id))

    async def purge_finished(self, before: float) -> int:
        """Delete ended jobs that finished before `before` (their spending stays in the ledger)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM jobs WHERE state NOT IN {_OPEN} AND finished_at < ?", (before,)
            )
        if cursor.rowcount:
            log.info("purged %d finished jobs", cursor.rowcount)
        return int(cursor.rowcount)

    async def recent_jobs(self, *, state: JobState | None = None, limit: int = 20) -> list[Job]:
        where, params = ("WHERE state = ?", (state.value,)) if state else ("", ())
        found = await self.rows(f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?",
                                (*params, limit))
        return [job_from_row(r) for r in found]

    async def recent_durations(self, mode: Mode, limit: int = 50) -> list[float]:
        found = await self.rows(
            "SELECT finished_at - submitted_at FROM jobs WHERE state = 'succeeded' AND mode = ?"
            " AND submitted_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (mode.value, limit),
        )
        return [float(r[0]) for r in found]

    # --- subscriptions and delivery -----------------------------------------------------

    async def subscribe(
        self,
        job: Job,
        *,
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        delivery: Delivery = Delivery.WAITING,
    ) -> Subscription:
        """Add a requester to a job; a second request by the same user keeps the first."""
        now = self._clock()
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO subscriptions (job_id, user_id, guild_id, channel_id, created_at,"
                " delivery, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id, user_id) DO NOTHING",
                (job.id, user_id, guild_id, channel_id, now, delivery.value,
                 now if delivery.is_final else None),
            )
        found = await self.rows(
            "SELECT * FROM subscriptions WHERE job_id = ? AND user_id IS ?", (job.id, user_id)
        )
        return _subscription(found[0])

    async def subscriptions(self, job_id: int) -> list[Subscription]:
        found = await self.rows(
            "SELECT * FROM subscriptions WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [_subscription(r) for r in found]

    async def due_deliveries(self, *, limit: int = 50) -> list[int]:
        """Ids of ended jobs with a requester still to be told, oldest first."""
        found = await self.rows(
            "SELECT DISTINCT job_id FROM subscriptions WHERE delivery = 'pending'"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
            (self._clock(), limit),
        )
        return [int(r[0]) for r in found]

    async def next_delivery_at(self) -> float | None:
        value = await self.scalar(
            "SELECT MIN(next_attempt_at) FROM subscriptions WHERE delivery = 'pending'"
        )
        return None if value is None else float(value)

    async def record_delivery(
        self,
        sub: Subscription,
        outcome: Delivery,
        *,
        detail: str | None = None,
        message_id: int | None = None,
        retry_in_s: float | None = None,
    ) -> None:
        """Write what happened to one requester's result; PENDING with retry_in_s retries."""
        now = self._clock()
        async with self.transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET delivery = ?, attempts = attempts + 1, detail = ?,"
                " message_id = COALESCE(?, message_id), delivered_at = ?, next_attempt_at = ?"
                " WHERE id = ? AND delivery = 'pending'",
                (outcome.value, detail, message_id, now if outcome.is_final else None,
                 None if retry_in_s is None else now + retry_in_s, sub.id),
            )
        log.info("job %d: delivery to user %s: %s%s", sub.job_id, sub.user_id, outcome,
                 f" ({detail})" if detail else "")
