"""Posting results: when to post, handing a job to the poster, recording who saw it, retrying."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from bot.delivery import Deliver, Delivered
from bot.durable import write_durably
from bot.jobs import Delivery, Subscription
from bot.scheduler.policy import backoff_delay
from bot.store import Store

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Deliveries:
    """Runs the poster for one job at a time per job, and writes what happened to whom."""

    def __init__(
        self,
        store: Store,
        deliver: Deliver | None,
        clock: Callable[[], float],
        *,
        max_attempts: int,
        on_delivered: Callable[[float], None] | None = None,
        spawn: Spawn | None = None,
        owner: str | None = None,
    ) -> None:
        self._store, self._deliver, self._clock = store, deliver, clock
        self._owner = owner  # with other processes: each requester is claimed before posting
        self._max_attempts = max_attempts
        self._on_delivered = on_delivered  # seconds from the job's end to its delivery
        self._spawn = spawn  # runs a delivery beside the loop (the scheduler's tasks)
        self._busy: set[int] = set()
        # When to ask the store for due deliveries: not on every pass (that was most of the
        # statements under load), but when a job ends, a delivery finishes, or a retry is due.
        self.check_at = 0.0

    @property
    def attached(self) -> bool:
        return self._deliver is not None

    def attach(self, deliver: Deliver | None) -> None:
        """Set who posts results (None: nobody yet; due deliveries wait, untried)."""
        self._deliver = deliver
        if deliver is not None:
            self.check_soon()

    def check_soon(self) -> None:
        """Ask for due deliveries on the next pass (a job ended, or a delivery finished)."""
        self.check_at = min(self.check_at, self._clock())

    async def start_due(self) -> None:
        """Start every due delivery, if it is time to ask; then note when to ask again."""
        if self._clock() < self.check_at or self._spawn is None:
            return
        # A job that ends while we ask lowers the mark again (check_soon), so start from inf.
        # A delivery still in flight is no reason to ask again: when it finishes, it says so.
        self.check_at, now = math.inf, self._clock()
        if not self.attached:
            return  # nobody to post results yet: attach asks again
        try:
            for job_id in await self._store.due_deliveries():
                if self.claim(job_id):
                    self._spawn(self._deliver_then_check(job_id))
            following = await self._store.next_delivery_at()
        except Exception:
            self.check_at = now  # ask again on the next pass
            raise
        if following is not None and following > now:
            self.check_at = min(self.check_at, following)

    async def _deliver_then_check(self, job_id: int) -> None:
        try:
            await self.deliver(job_id)
        finally:
            self.check_soon()

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
                       if s.delivery == Delivery.PENDING and await self._claimed(s)]
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

    async def _claimed(self, sub: Subscription) -> bool:
        """Ours to post: always for the only process; else once across them (claim_delivery)."""
        return self._owner is None or await self._store.claim_delivery(sub.id, self._owner)

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

        async def write() -> None:
            await self._store.record_delivery(
                sub, result.outcome, detail=result.detail, message_id=result.message_id
            )

        await write_durably(write, what="recording a delivery", job_id=sub.job_id)
