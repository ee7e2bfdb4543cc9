"""Jobs in PostgreSQL: record (with the atomic limit step), read, and the one choke point."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from bot.jobs import Job, JobState, Mode
from bot.store.errors import Cancelled, StoreError
from bot.store.postgres.db import Connection, PgDatabase, count
from bot.store.postgres.deliveries import reopen_subscriptions
from bot.store.postgres.moves import write_move
from bot.store.protocol import Admit, Published
from bot.store.rows import job_from_row
from bot.store.shared import publish_move

log = logging.getLogger(__name__)

OPEN = "('submitting', 'running')"
NO_GUILD = 0  # the lock row of requests made outside a server (the CLI, DMs)


async def get_in(db: Connection, job_id: int, *, lock: bool = False) -> Job | None:
    row = await db.fetchrow(
        "SELECT * FROM jobs WHERE id = $1" + (" FOR UPDATE" if lock else ""), job_id)
    return None if row is None else job_from_row(row)


async def lock_guild(db: Connection, guild_id: int | None) -> None:
    """Queue behind every other limit step of this server until the transaction ends: the
    usage `admit` then reads includes whatever the one before committed (READ COMMITTED
    takes a fresh snapshot per statement)."""
    await db.execute(
        "INSERT INTO guild_locks (guild_id) VALUES ($1)"
        " ON CONFLICT (guild_id) DO UPDATE SET guild_id = EXCLUDED.guild_id",
        NO_GUILD if guild_id is None else guild_id,
    )


class PgJobs:
    """The job half of the PostgreSQL store (mixed into PgStore beside deliveries and guilds)."""

    _db: PgDatabase
    _clock: Callable[[], float]
    _published: Published | None
    _lease: tuple[str, float] | None  # (owner, lease_s): a new job is leased to its creator

    async def create_job(
        self, *, music_task_id: str, song_id: str, mode: Mode, song_title: str | None,
        guild_id: int | None, channel_id: int | None, requester_id: int | None,
        callback_token: str | None, estimated_credits: float, admit: Admit | None = None,
        locale: str | None = None,
    ) -> Job:
        """Record a job, its requester (in their locale) and its expected charge; `admit` runs
        first, in the same transaction, behind this server's lock row (it raises to refuse)."""
        async with self._db.transaction() as db:
            await lock_guild(db, guild_id)
            if admit is not None:
                await admit()
            now = self._clock()
            owner, until = (self._lease[0], now + self._lease[1]) if self._lease else (None, None)
            try:
                job_id = await db.fetchval(
                    "INSERT INTO jobs (music_task_id, song_id, mode, state, guild_id, channel_id,"
                    " requester_id, song_title, created_at, callback_token, lease_owner,"
                    " lease_until) VALUES ($1, $2, $3, 'submitting', $4, $5, $6, $7, $8, $9,"
                    " $10, $11) RETURNING id",
                    music_task_id, song_id, mode.value, guild_id, channel_id, requester_id,
                    song_title, now, callback_token, owner, until,
                )
            except asyncpg.UniqueViolationError as exc:  # the song already has an open job
                raise StoreError(f"the job cannot be recorded: {exc}") from exc
            await db.execute(
                "INSERT INTO subscriptions (job_id, user_id, guild_id, channel_id, created_at,"
                " locale) VALUES ($1, $2, $3, $4, $5, $6)",
                job_id, requester_id, guild_id, channel_id, now, locale)
            await db.execute(
                "INSERT INTO ledger (job_id, guild_id, user_id, at, credits)"
                " VALUES ($1, $2, $3, $4, $5)",
                job_id, guild_id, requester_id, now, estimated_credits)
            job = await get_in(db, job_id)
        assert job is not None
        log.info("job %d: recorded (%s, %s)", job.id, job.mode, job.song_id)
        return job

    async def _one(self, where: str, *params: Any) -> Job | None:
        found = await self._db.rows(f"SELECT * FROM jobs WHERE {where}", *params)
        return job_from_row(found[0]) if found else None

    async def get(self, job_id: int) -> Job | None:
        return await self._one("id = $1", job_id)

    async def by_callback_token(self, token: str) -> Job | None:
        return await self._one("callback_token = $1", token)

    async def find_open(self, music_task_id: str, song_id: str, mode: Mode) -> Job | None:
        return await self._one(
            f"music_task_id = $1 AND song_id = $2 AND mode = $3 AND state IN {OPEN}",
            music_task_id, song_id, mode.value)

    async def find_reusable(
        self, music_task_id: str, song_id: str, mode: Mode, *, max_age_s: float
    ) -> Job | None:
        return await self._one(
            "music_task_id = $1 AND song_id = $2 AND mode = $3 AND state = 'succeeded'"
            " AND finished_at >= $4 ORDER BY finished_at DESC LIMIT 1",
            music_task_id, song_id, mode.value, self._clock() - max_age_s)

    async def open_jobs(self) -> list[Job]:
        return [job_from_row(r) for r in await self._db.rows(
            f"SELECT * FROM jobs WHERE state IN {OPEN} ORDER BY id")]

    async def move(
        self, job: Job, new: JobState, *, told: bool = False, shown_to: int | None = None,
        refund: bool = False, **changes: Any,
    ) -> Job:
        """Check, write in a transaction, log, publish: as bot.store.jobs.Jobs.move says."""
        if told and shown_to is None:
            shown_to = job.requester_id
        now = self._clock()
        if not job.state.is_terminal:  # one statement: atomic on its own
            moved = await write_move(self._db, job, new, now, shown_to, changes, refund=refund)
            return publish_move(self._published, job, moved)
        async with self._db.transaction() as db:  # a revival: who was told waits again first
            await reopen_subscriptions(db, job.id)
            moved = await write_move(self._db, job, new, now, shown_to, changes, refund=refund)
        return publish_move(self._published, job, moved)

    async def cancel(
        self, job: Job, *, user_id: int, guild_id: int | None = None, error: str
    ) -> Cancelled:
        """Stop `user_id`'s deliveries (and `guild_id`'s); end the job if no one else waits.
        The job's row is locked first: a move racing the cancel waits for it, or wins."""
        async with self._db.transaction() as db:
            current = await get_in(db, job.id, lock=True)
            if current is None or not current.is_open:
                return Cancelled(current or job, stopped=0, waiting=0, ended=False)
            whose = "user_id = $2" + ("" if guild_id is None else " OR guild_id = $3")
            params = (job.id, user_id) + (() if guild_id is None else (guild_id,))
            stopped = count(await db.execute(
                "UPDATE subscriptions SET delivery = 'cancelled' WHERE job_id = $1"
                f" AND delivery = 'waiting' AND ({whose})", *params))
            waiting = int(await db.fetchval(
                "SELECT COUNT(*) FROM subscriptions WHERE job_id = $1 AND delivery = 'waiting'",
                job.id))
            moved = None
            if waiting == 0 and current.state == JobState.RUNNING:
                moved = await write_move(self._db, current, JobState.CANCELLED, self._clock(),
                                         None, {"error": error})
        if moved is not None:
            current = publish_move(self._published, current, moved)
        return Cancelled(current, stopped=stopped, waiting=waiting, ended=moved is not None)

    async def settle_charge(self, job_id: int, credits: float) -> None:
        """The API's figure for a job that ended without it: job and ledger in one transaction."""
        async with self._db.transaction() as db:
            await db.execute("UPDATE jobs SET credits = $1 WHERE id = $2", credits, job_id)
            await db.execute("UPDATE ledger SET credits = $1 WHERE job_id = $2", credits, job_id)

    async def purge_finished(self, before: float) -> int:
        """Delete ended jobs that finished before `before` (their spending stays in the ledger)."""
        removed = count(await self._db.execute(
            f"DELETE FROM jobs WHERE state NOT IN {OPEN} AND finished_at < $1", before))
        if removed:
            log.info("purged %d finished jobs", removed)
        return removed

    async def recent_jobs(self, *, state: JobState | None = None, limit: int = 20) -> list[Job]:
        if state is None:
            found = await self._db.rows("SELECT * FROM jobs ORDER BY id DESC LIMIT $1", limit)
        else:
            found = await self._db.rows(
                "SELECT * FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2", state.value, limit)
        return [job_from_row(r) for r in found]

    async def recent_durations(self, mode: Mode, limit: int = 50) -> list[float]:
        found = await self._db.rows(
            "SELECT finished_at - submitted_at FROM jobs WHERE state = 'succeeded' AND mode = $1"
            " AND submitted_at IS NOT NULL ORDER BY finished_at DESC LIMIT $2",
            mode.value, limit,
        )
        return [float(r[0]) for r in found]
