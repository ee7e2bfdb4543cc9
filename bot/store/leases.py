"""Leases, delivery claims and heartbeats in SQLite: the shared-work interface, one process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.jobs import Job
from bot.store.db import Database
from bot.store.protocol import WakeListener
from bot.store.rows import job_from_row

log = logging.getLogger(__name__)

OPEN = "('submitting', 'running')"


def _marks(ids: Sequence[int]) -> str:
    return ", ".join("?" for _ in ids)


class Leases:
    """The same columns and answers as PostgreSQL's leases (mixed into JobStore). The file
    lock already makes this process the only one: the leases are what PostgreSQL's would be."""

    _db: Database
    _clock: Callable[[], float]
    _wake_listeners: list[WakeListener]

    async def claim_due_jobs(self, owner: str, lease_s: float, limit: int = 100) -> list[Job]:
        """Lease up to `limit` open jobs nobody holds until now + lease_s, oldest first."""
        now = self._clock()
        async with self._db.transaction() as db:
            async with db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id IN ("
                f" SELECT id FROM jobs WHERE state IN {OPEN}"
                " AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY id LIMIT ?) RETURNING *",
                (owner, now + lease_s, now, limit),
            ) as cursor:
                rows = await cursor.fetchall()
        return sorted((job_from_row(r) for r in rows), key=lambda job: job.id)

    async def renew_leases(
        self, owner: str, job_ids: Sequence[int], lease_s: float
    ) -> list[int]:
        """Extend `owner`'s leases; the ids still held."""
        async with self._db.transaction() as db:
            async with db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE id IN ({_marks(job_ids)})"
                " AND lease_owner = ? RETURNING id",
                (self._clock() + lease_s, *job_ids, owner),
            ) as cursor:
                rows = await cursor.fetchall()
        return sorted(int(r[0]) for r in rows)

    async def renew_held_leases(self, owner: str, lease_s: float) -> list[int]:
        """Extend every lease `owner` holds on an open job; their ids."""
        async with self._db.transaction() as db:
            async with db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND state IN {OPEN}"
                " RETURNING id", (self._clock() + lease_s, owner),
            ) as cursor:
                rows = await cursor.fetchall()
        return sorted(int(r[0]) for r in rows)

    async def held_jobs(self, owner: str) -> list[Job]:
        """The open jobs whose lease `owner` holds, oldest first, in one read (a restart)."""
        return [job_from_row(r) for r in await self._db.rows(
            f"SELECT * FROM jobs WHERE lease_owner = ? AND state IN {OPEN} ORDER BY id",
            (owner,))]

    async def release_lease(self, owner: str, job_ids: Sequence[int]) -> None:
        """Give the jobs back at once (a clean stop)."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL"
                f" WHERE id IN ({_marks(job_ids)}) AND lease_owner = ?", (*job_ids, owner))

    async def lease_holder(self, job_id: int) -> str | None:
        holder = await self._db.scalar(
            "SELECT lease_owner FROM jobs WHERE id = ? AND lease_until >= ?",
            (job_id, self._clock()))
        return None if holder is None else str(holder)

    async def claim_delivery(self, sub_id: int, owner: str, lease_s: float = 60.0) -> bool:
        """Take one due delivery to post it: True for one claimer until it is recorded or the
        claim lapses."""
        now = self._clock()
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE subscriptions SET claimed_by = ?, claimed_until = ?"
                " WHERE id = ? AND delivery = 'pending'"
                " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)",
                (owner, now + lease_s, sub_id, owner, now),
            )
        return cursor.rowcount == 1

    async def heartbeat(self, name: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO processes (name, seen_at) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at",
                (name, self._clock()))

    async def live_processes(self, within_s: float) -> list[str]:
        rows = await self._db.rows(
            "SELECT name FROM processes WHERE seen_at >= ? ORDER BY name",
            (self._clock() - within_s,))
        return [str(r[0]) for r in rows]

    async def notify_wake(self, job_id: int) -> None:
        """One process on the file: the listeners here are all there are."""
        for listener in tuple(self._wake_listeners):
            try:
                listener(job_id)
            except Exception:
                log.exception("a wake listener failed")

    async def listen_wakes(self, callback: WakeListener) -> None:
        self._wake_listeners.append(callback)
