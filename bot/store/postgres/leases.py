"""Work shared by several processes in PostgreSQL: job leases, delivery claims, heartbeats."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.jobs import Job
from bot.store.postgres.db import PgDatabase, count
from bot.store.protocol import WakeListener
from bot.store.rows import job_from_row

log = logging.getLogger(__name__)

OPEN = "('submitting', 'running')"
WAKE_CHANNEL = "stembot_wake"


class PgLeases:
    """Leases on open jobs (FOR UPDATE SKIP LOCKED: claimers never wait on each other),
    claims on deliveries, and the processes' heartbeats (mixed into PgStore)."""

    _db: PgDatabase
    _clock: Callable[[], float]

    async def claim_due_jobs(self, owner: str, lease_s: float, limit: int = 100) -> list[Job]:
        """Lease up to `limit` open jobs nobody holds (never leased, released, or lapsed) until
        now + lease_s; the jobs newly leased, oldest first (held ones are renewed instead)."""
        now = self._clock()
        rows = await self._db.rows(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id IN ("
            f" SELECT id FROM jobs WHERE state IN {OPEN}"
            " AND (lease_until IS NULL OR lease_until < $3)"
            " ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *",
            owner, now + lease_s, now, limit,
        )
        return sorted((job_from_row(r) for r in rows), key=lambda job: job.id)

    async def renew_leases(
        self, owner: str, job_ids: Sequence[int], lease_s: float
    ) -> list[int]:
        """Extend `owner`'s leases; the ids still held (a lapsed one another took is not)."""
        rows = await self._db.rows(
            "UPDATE jobs SET lease_until = $1 WHERE id = ANY($2::bigint[])"
            " AND lease_owner = $3 RETURNING id",
            self._clock() + lease_s, list(job_ids), owner,
        )
        return sorted(int(r[0]) for r in rows)

    async def renew_held_leases(self, owner: str, lease_s: float) -> list[int]:
        """Extend every lease `owner` holds on an open job (claimed or created); their ids."""
        rows = await self._db.rows(
            f"UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND state IN {OPEN}"
            " RETURNING id", self._clock() + lease_s, owner)
        return sorted(int(r[0]) for r in rows)

    async def held_jobs(self, owner: str) -> list[Job]:
        """The open jobs whose lease `owner` holds, oldest first, in one read (a restart)."""
        rows = await self._db.rows(
            f"SELECT * FROM jobs WHERE lease_owner = $1 AND state IN {OPEN} ORDER BY id", owner)
        return [job_from_row(r) for r in rows]

    async def release_lease(self, owner: str, job_ids: Sequence[int]) -> None:
        """Give the jobs back at once (a clean stop), so another process need not wait."""
        await self._db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = ANY($1::bigint[]) AND lease_owner = $2", list(job_ids), owner)

    async def lease_holder(self, job_id: int) -> str | None:
        """Who holds the job's lease now (None: nobody, or it lapsed)."""
        holder = await self._db.scalar(
            "SELECT lease_owner FROM jobs WHERE id = $1 AND lease_until >= $2",
            job_id, self._clock())
        return None if holder is None else str(holder)

    async def claim_delivery(self, sub_id: int, owner: str, lease_s: float = 60.0) -> bool:
        """Take one due delivery to post it: True for exactly one claimer until it is recorded
        (recording ends the claim) or the claim lapses (the poster died; its nonce stays)."""
        now = self._clock()
        status = await self._db.execute(
            "UPDATE subscriptions SET claimed_by = $2, claimed_until = $3"
            " WHERE id = $1 AND delivery = 'pending'"
            " AND (claimed_by IS NULL OR claimed_by = $2 OR claimed_until < $4)",
            sub_id, owner, now + lease_s, now,
        )
        return count(status) == 1

    async def heartbeat(self, name: str) -> None:
        await self._db.execute(
            "INSERT INTO processes (name, seen_at) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at", name, self._clock())

    async def live_processes(self, within_s: float) -> list[str]:
        """Processes whose heartbeat is at most `within_s` old (they share the request budget)."""
        rows = await self._db.rows(
            "SELECT name FROM processes WHERE seen_at >= $1 ORDER BY name",
            self._clock() - within_s)
        return [str(r[0]) for r in rows]

    async def notify_wake(self, job_id: int) -> None:
        """NOTIFY every listening process: the one holding the job's lease polls it now."""
        await self._db.execute("SELECT pg_notify($1, $2)", WAKE_CHANNEL, str(job_id))

    async def listen_wakes(self, callback: WakeListener) -> None:
        def woken(payload: str) -> None:
            try:
                callback(int(payload))
            except Exception:
                log.exception("a wake listener failed on %r", payload)

        await self._db.listen(WAKE_CHANNEL, woken)
