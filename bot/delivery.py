"""Delivery bookkeeping: hand an ended job to the deliverer, record each outcome, retry, give up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.jobs import Delivery, Job, Subscription
from bot.policy import backoff_delay
from bot.store import Store

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 3  # writing that a member was shown their result


@dataclass(frozen=True)
class Delivered:
    """What a delivery attempt did for one requester. PENDING means: try again later."""

    outcome: Delivery
    detail: str | None = None
    message_id: int | None = None


Deliver = Callable[[Job, Sequence[Subscription]], Awaitable[Mapping[int, Delivered]]]


class Deliveries:
    """Runs the deliverer for one job at a time per job, and writes what happened to whom."""

    def __init__(
        self,
        store: Store,
        deliver: Deliver | None,
        clock: Callable[[], float],
        *,
        max_attempts: int,
        on_delivered: Callable[[float], None] | None,
    ) -> None:
        self._store, self._deliver, self._clock = store, deliver, clock
        self._max_attempts = max_attempts
        self._on_delivered = on_delivered  # seconds from the job's end to its delivery
        self._busy: set[int] = set()

    @property
    def attached(self) -> bool:
        return self._deliver is not None

    def attach(self, deliver: Deliver | None) -> None:
        """Set who posts results (None: nobody yet; due deliveries wait, untried)."""
        self._deliver = deliver

    def claim(self, job_id: int) -> bool:
        """True when nobody is delivering this job right now (and it is now ours)."""
        if job_id in self._busy:
            return False
        self._busy.add(job_id)
        return True

    async def deliver(self, job_id: int) -> None:
        try:
            job = await self._store.get(job_id)
            pending = [s for s in await self._store.subscriptions(job_id)
                       if s.delivery == Delivery.PENDING]
            deliver = self._deliver
            if job is None or not pending or deliver is None:
                return
            try:
                results = await deliver(job, pending)
            except Exception:
                log.exception("job %d: delivery crashed; will retry", job_id)
                results = {}
            failed = 0
            for sub in pending:
                # One member's record failing must not leave the others' unwritten: they
                # would be posted again on the next pass.
                try:
                    await self._record(sub, results.get(sub.id))
                except Exception:
                    failed += 1
            if failed:
                log.error("job %d: %d delivery records could not be written", job_id, failed)
            if self._on_delivered and job.finished_at and any(
                r.outcome in (Delivery.CHANNEL, Delivery.DM) for r in results.values()
            ):
                self._on_delivered(self._clock() - job.finished_at.timestamp())
        finally:
            self._busy.discard(job_id)

    async def _record(self, sub: Subscription, result: Delivered | None) -> None:
        if result is not None and result.outcome.is_final:
            await self._record_shown(sub, result)
            return
        detail = result.detail if result else "delivery did not complete"
        if sub.attempts + 1 >= self._max_attempts:
            await self._store.record_delivery(
                sub, Delivery.UNDELIVERABLE, detail=f"gave up: {detail}"
            )
            return
        retry_in = backoff_delay(sub.attempts + 1, min_s=5.0, max_s=600.0)
        await self._store.record_delivery(
            sub, Delivery.PENDING, detail=detail, retry_in_s=retry_in
        )

    async def _record_shown(self, sub: Subscription, result: Delivered) -> None:
        """The member has seen it: a failed write is tried again at once. Left pending, the
        next attempt may take another route (a DM after a channel 403) and show it twice."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._store.record_delivery(
                    sub, result.outcome, detail=result.detail, message_id=result.message_id
                )
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("job %d: recording a delivery failed; trying again", sub.job_id,
                            exc_info=True)
