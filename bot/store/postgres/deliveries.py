"""Requesters of jobs in PostgreSQL: subscriptions, and when and how each result was delivered."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.jobs import Delivery, Job, Subscription
from bot.store.errors import StatusMessage
from bot.store.postgres.db import Connection, PgDatabase
from bot.store.rows import status_message_from_row, subscription_from_row

log = logging.getLogger(__name__)


async def reopen_subscriptions(db: Connection, job_id: int) -> None:
    """An ended job moves on: everyone told of the old ending (not the cancelled) waits again."""
    await db.execute(
        "UPDATE subscriptions SET delivery = 'waiting', attempts = 0, next_attempt_at = NULL,"
        " delivered_at = NULL, detail = NULL, claimed_by = NULL, claimed_until = NULL,"
        " status_shown_at = NULL"
        " WHERE job_id = $1 AND delivery != 'cancelled'",
        job_id,
    )


class PgDeliveries:
    """The requesters' half of the PostgreSQL store (mixed into PgStore)."""

    _db: PgDatabase
    _clock: Callable[[], float]

    async def subscribe(
        self, job: Job, *, user_id: int | None, guild_id: int | None, channel_id: int | None,
        delivery: Delivery = Delivery.WAITING, locale: str | None = None,
    ) -> Subscription:
        """Add a requester (in their locale) to a job; a second request by the same user keeps
        the first."""
        now = self._clock()
        await self._db.execute(
            "INSERT INTO subscriptions (job_id, user_id, guild_id, channel_id, created_at,"
            " delivery, delivered_at, locale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (job_id, user_id) DO NOTHING",
            job.id, user_id, guild_id, channel_id, now, delivery.value,
            now if delivery.is_final else None, locale,
        )
        found = await self._db.rows(
            "SELECT * FROM subscriptions WHERE job_id = $1 AND user_id IS NOT DISTINCT FROM $2"
            " ORDER BY id LIMIT 1",
            job.id, user_id,
        )
        return subscription_from_row(found[0])

    async def subscriptions(self, job_id: int) -> list[Subscription]:
        found = await self._db.rows(
            "SELECT * FROM subscriptions WHERE job_id = $1 ORDER BY id", job_id
        )
        return [subscription_from_row(r) for r in found]

    async def due_deliveries(self, *, limit: int = 50) -> list[int]:
        """Ids of ended jobs with a requester still to be told, oldest first."""
        found = await self._db.rows(
            "SELECT job_id FROM subscriptions WHERE delivery = 'pending'"
            " AND next_attempt_at <= $1 GROUP BY job_id ORDER BY MIN(next_attempt_at) LIMIT $2",
            self._clock(), limit,
        )
        return [int(r[0]) for r in found]

    async def next_delivery_at(self) -> float | None:
        value = await self._db.scalar(
            "SELECT MIN(next_attempt_at) FROM subscriptions WHERE delivery = 'pending'"
        )
        return None if value is None else float(value)

    async def record_delivery(
        self, sub: Subscription, outcome: Delivery, *, detail: str | None = None,
        message_id: int | None = None, retry_in_s: float | None = None,
    ) -> None:
        """Write what happened to one requester's result (its claim ends); PENDING with
        retry_in_s retries."""
        now = self._clock()
        await self._db.execute(
            "UPDATE subscriptions SET delivery = $1, attempts = attempts + 1, detail = $2,"
            " message_id = COALESCE($3, message_id), delivered_at = $4, next_attempt_at = $5,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = $6 AND delivery = 'pending'",
            outcome.value, detail, message_id, now if outcome.is_final else None,
            None if retry_in_s is None else now + retry_in_s, sub.id,
        )
        log.info("job %d: delivery to user %s: %s%s", sub.job_id, sub.user_id, outcome,
                 f" ({detail})" if detail else "")

    # --- the public status message of each request (issue 12) ------------------------------

    async def set_status_message(
        self, job_id: int, user_id: int | None, *, channel_id: int, message_id: int
    ) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET status_channel_id = $1, status_message_id = $2,"
            " status_shown_at = NULL WHERE job_id = $3 AND user_id IS NOT DISTINCT FROM $4",
            channel_id, message_id, job_id, user_id,
        )

    async def status_messages(self) -> list[StatusMessage]:
        found = await self._db.rows(
            "SELECT * FROM subscriptions WHERE status_message_id IS NOT NULL"
            " AND status_shown_at IS NULL ORDER BY id"
        )
        return [status_message_from_row(r) for r in found]

    async def status_shown_final(self, job_id: int, *, message_id: int) -> None:
        """The job's final state is in this message: a restart leaves it alone."""
        await self._db.execute(
            "UPDATE subscriptions SET status_shown_at = $1 WHERE job_id = $2"
            " AND status_message_id = $3 AND status_shown_at IS NULL",
            self._clock(), job_id, message_id,
        )
