"""Jobs in SQLite: record, read, and the one choke point where a job changes state."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiosqlite

from bot.jobs import Job, JobState, Mode, check_transition
from bot.store.db import Database
from bot.store.deliveries import add_requester, reopen_subscriptions, settle_subscriptions
from bot.store.errors import Cancelled, StoreError
from bot.store.protocol import Admit, Published
from bot.store.rows import job_from_row
from bot.store.shared import publish_move

log = logging.getLogger(__name__)

Clock = Callable[[], float]

OPEN = "('submitting', 'running')"


async def get_in(db: aiosqlite.Connection, job_id: int) -> Job | None:
    found = list(await db.execute_fetchall("SELECT * FROM jobs WHERE id = ?", (job_id,)))
    return job_from_row(found[0]) if found else None


def move_columns(new: JobState, now: float, changes: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {"state": new.value}
    columns["finished_at"] = now if new.is_terminal else None
    for name, value in changes.items():
        if name == "stems":
            value = json.dumps([s.__dict__ for s in value])
        elif isinstance(value, datetime):
            value = value.timestamp()
        columns[name] = value
    return columns


async def write_move(
    db: aiosqlite.Connection, job: Job, new: JobState, now: float, shown_to: int | None,
    changes: dict[str, Any],
) -> None:
    """The move's statements, inside the caller's transaction: the job, its charge (the API's
    figure replaces the estimate in the same transaction), and its requesters' deliveries."""
    check_transition(job.state, new)
    columns = move_columns(new, now, changes)
    assignments = ", ".join(f"{name} = ?" for name in columns)
    try:
        cursor = await db.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ? AND state = ?",
            (*columns.values(), job.id, job.state.value),
        )
    except sqlite3.IntegrityError as exc:  # a remote id that belongs to another job
        raise StoreError(f"job {job.id} cannot be moved: {exc}") from exc
    if cursor.rowcount != 1:
        raise StoreError(f"job {job.id} is no longer {job.state}")
    if changes.get("credits") is not None:
        await db.execute(
            "UPDATE ledger SET credits = ? WHERE job_id = ?", (changes["credits"], job.id)
        )
    if job.state.is_terminal:
        await reopen_subscriptions(db, job.id)
    await settle_subscriptions(db, job.id, new, now, shown_to)


class Jobs:
    """The job half of the SQLite store (mixed into JobStore beside deliveries and guilds)."""

    _db: Database
    _clock: Clock
    _published: Published | None

    async def create_job(
        self, *, music_task_id: str, song_id: str, mode: Mode, song_title: str | None,
        guild_id: int | None, channel_id: int | None, requester_id: int | None,
        callback_token: str | None, estimated_credits: float, admit: Admit | None = None,
        locale: str | None = None,
    ) -> Job:
        """Record a job about to be submitted, its requester (and their locale), and its
        expected charge.

        `admit` runs inside the same write transaction, before anything is written: limits it
        checks there cannot be passed by a request racing this one (it raises to refuse).
        """
        async with self._db.transaction() as db:
            if admit is not None:
                await admit()
            now = self._clock()
            try:
                cursor = await db.execute(
                    "INSERT INTO jobs (music_task_id, song_id, mode, state, guild_id, channel_id,"
                    " requester_id, song_title, created_at, callback_token)"
                    " VALUES (?, ?, ?, 'submitting', ?, ?, ?, ?, ?, ?)",
                    (music_task_id, song_id, mode.value, guild_id, channel_id, requester_id,
                     song_title, now, callback_token),
                )
            except sqlite3.IntegrityError as exc:  # the song already has an open job
                raise StoreError(f"the job cannot be recorded: {exc}") from exc
            job_id = int(cursor.lastrowid or 0)
            await add_requester(db, (job_id, requester_id, guild_id, channel_id, now, locale))
            await db.execute(
                "INSERT INTO ledger (job_id, guild_id, user_id, at, credits)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, guild_id, requester_id, now, estimated_credits),
            )
            job = await get_in(db, job_id)
        assert job is not None
        log.info("job %d: recorded (%s, %s)", job.id, job.mode, job.song_id)
        return job

    async def _one(self, where: str, params: tuple[Any, ...]) -> Job | None:
        found = await self._db.rows(f"SELECT * FROM jobs WHERE {where}", params)
        return job_from_row(found[0]) if found else None

    async def get(self, job_id: int) -> Job | None:
        return await self._one("id = ?", (job_id,))

    async def by_callback_token(self, token: str) -> Job | None:
        return await self._one("callback_token = ?", (token,))

    async def find_open(self, music_task_id: str, song_id: str, mode: Mode) -> Job | None:
        return await self._one(
            f"music_task_id = ? AND song_id = ? AND mode = ? AND state IN {OPEN}",
            (music_task_id, song_id, mode.value),
        )

    async def find_reusable(
        self, music_task_id: str, song_id: str, mode: Mode, *, max_age_s: float
    ) -> Job | None:
        return await self._one(
            "music_task_id = ? AND song_id = ? AND mode = ? AND state = 'succeeded'"
            " AND finished_at >= ? ORDER BY finished_at DESC LIMIT 1",
            (music_task_id, song_id, mode.value, self._clock() - max_age_s),
        )

    async def open_jobs(self) -> list[Job]:
        return [job_from_row(r) for r in await self._db.rows(
            f"SELECT * FROM jobs WHERE state IN {OPEN}")]

    async def move(
        self, job: Job, new: JobState, *, told: bool = False, shown_to: int | None = None,
        refund: bool = False, **changes: Any,
    ) -> Job:
        """The one place a job changes state: check, write in a transaction, log, publish.

        Ending a job makes its requesters' deliveries due, except the one who saw the outcome
        already: `shown_to` (a user id), or the requester when `told`. Everyone else is told by
        a delivery. Moving an ended job on again (a re-check, an adopted submission) makes its
        deliveries due again: whoever was told the old ending is told the new one. `credits`
        (the API's figure) settles the charge, and `refund` drops it (the API refused the job),
        both in the move's own transaction.
        """
        if told and shown_to is None:
            shown_to = job.requester_id
        async with self._db.transaction() as db:
            await write_move(db, job, new, self._clock(), shown_to, changes)
            if refund:
                await db.execute("DELETE FROM ledger WHERE job_id = ?", (job.id,))
            moved = await get_in(db, job.id)
        return publish_move(self._published, job, moved)

    async def cancel(
        self, job: Job, *, user_id: int, guild_id: int | None = None, error: str
    ) -> Cancelled:
        """Stop `user_id`'s deliveries (and `guild_id`'s, for its admin); end the job if no one
        else waits. One transaction: a poll that ends the job meanwhile loses nothing."""
        async with self._db.transaction() as db:
            current = await get_in(db, job.id)
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
            waiting = int(await self._db.scalar(
                "SELECT COUNT(*) FROM subscriptions WHERE job_id = ? AND delivery = 'waiting'",
                (job.id,),
            ))
            moved = None
            if waiting == 0 and current.state == JobState.RUNNING:
                await write_move(db, current, JobState.CANCELLED, self._clock(), None,
                                 {"error": error})
                moved = await get_in(db, job.id)
        if moved is not None:
            current = publish_move(self._published, current, moved)
        return Cancelled(current, stopped=int(cursor.rowcount), waiting=waiting,
                         ended=moved is not None)

    async def settle_charge(self, job_id: int, credits: float) -> None:
        """The API's figure for a job that ended without it (cancelled while the check that
        found its result was in flight): the job and its ledger row, in one transaction."""
        async with self._db.transaction() as db:
            await db.execute("UPDATE jobs SET credits = ? WHERE id = ?", (credits, job_id))
            await db.execute("UPDATE ledger SET credits = ? WHERE job_id = ?", (credits, job_id))

    async def purge_finished(self, before: float) -> int:
        """Delete ended jobs that finished before `before` (their spending stays in the ledger)."""
        async with self._db.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM jobs WHERE state NOT IN {OPEN} AND finished_at < ?", (before,)
            )
        if cursor.rowcount:
            log.info("purged %d finished jobs", cursor.rowcount)
        return int(cursor.rowcount)

    async def recent_jobs(self, *, state: JobState | None = None, limit: int = 20) -> list[Job]:
        where, params = ("WHERE state = ?", (state.value,)) if state else ("", ())
        found = await self._db.rows(f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?",
                                    (*params, limit))
        return [job_from_row(r) for r in found]

    async def recent_durations(self, mode: Mode, limit: int = 50) -> list[float]:
        found = await self._db.rows(
            "SELECT finished_at - submitted_at FROM jobs WHERE state = 'succeeded' AND mode = ?"
            " AND submitted_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (mode.value, limit),
        )
        return [float(r[0]) for r in found]
