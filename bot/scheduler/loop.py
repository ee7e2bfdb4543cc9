"""The job loop: one pass starts every due poll and delivery; a thin forever-loop around it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bot import endings
from bot.api import StemApi
from bot.delivery import Deliver
from bot.errors import ApiError
from bot.jobs import Job, JobState, Mode
from bot.rate import RequestRate
from bot.scheduler.deliveries import Deliveries
from bot.scheduler.outcomes import Outcomes
from bot.scheduler.pause import Pause
from bot.scheduler.policy import Policy
from bot.scheduler.purge import Purge
from bot.scheduler.queue import PollQueue, Tracked
from bot.scheduler.settings import SchedulerSettings
from bot.scheduler.shared import SharedWork
from bot.scheduler.takeover import take_over
from bot.store import Store

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0


class Scheduler:
    """One loop for all jobs: the poll queue, a shared request rate, delivery, retention."""

    def __init__(
        self,
        store: Store,
        api: StemApi,
        deliver: Deliver | None,
        settings: SchedulerSettings,
        *,
        clock: Callable[[], float] = time.time,
        on_delivered: Callable[[float], None] | None = None,
    ) -> None:
        self._store, self._api, self._clock = store, api, clock
        self.settings = settings
        self.rate = RequestRate(settings.requests_per_s, clock)
        self.pause = Pause(clock)
        self._policy = Policy(settings, clock)
        self.durations = self._policy.durations
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._queue = PollQueue(self._policy, clock, self._wakeup.set)
        self._deliveries = Deliveries(
            store, deliver, clock, max_attempts=settings.max_delivery_attempts,
            on_delivered=on_delivered, spawn=self._spawn, owner=settings.lease_owner,
        )
        self._outcomes = Outcomes(store, clock, self.pause, self._policy, self._queue)
        self._purge = Purge(store, settings.retention_s)
        self.last_pass_at: float | None = None
        self.shared = SharedWork.of(store, settings, self.rate, clock)

    # --- the poll queue's door ------------------------------------------------------------

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def tracked_ids(self) -> frozenset[int]:
        """The jobs being polled now (read-only: for health checks and tests)."""
        return self._queue.ids()

    def track(self, job: Job) -> None:
        """Start polling a running job (at the time the policy says)."""
        self._queue.track(job)

    def forget(self, job_id: int) -> None:
        self._queue.forget(job_id)

    def wake(self, job_id: int) -> bool:
        """Poll this job as soon as the request rate allows (a callback said it may be done)."""
        return self._queue.wake(job_id)

    @property
    def leases_held(self) -> int:
        """Open jobs this process holds the lease of (the only process: every one it polls)."""
        shared = self.shared  # held since the last renewal, and those it polls (created here)
        return len(self._queue) if shared is None else len(shared.held | self._queue.ids())

    async def resume(self) -> tuple[int, int]:
        """On start: track running jobs, end interrupted submissions; (resumed, interrupted).
        Shared: only the jobs still leased to this process's name (the rest are claimed)."""
        for mode in Mode:
            for duration in reversed(await self._store.recent_durations(mode)):
                self.durations.add(mode, duration)
        jobs = await (self._store.open_jobs() if self.shared is None else self.shared.start())
        resumed, interrupted = await take_over(self._store, jobs, self.track)
        log.info("scheduler resumed %d running jobs, %d interrupted submissions",
                 resumed, interrupted)
        return resumed, interrupted

    async def _share(self, shared: SharedWork) -> None:
        """Shared: renew and claim leases; poll what we took, let go of what we lost."""
        changes = await shared.tick(self._queue.ids())
        for job_id in changes.lost:
            self.forget(job_id)
        await take_over(self._store, changes.taken, self.track)
        if changes.renewed:  # another process's job may have ended, or its poster died
            self._deliveries.check_soon()

    # --- deliveries' door -----------------------------------------------------------------

    def on_moved(self, job: Job) -> None:
        """A job changed state (published by the store after the commit). A job that starts
        running is polled from now on; an ended one is polled no more and has deliveries due."""
        if job.state == JobState.RUNNING:
            self.track(job)
        elif job.state.is_terminal:
            self.forget(job.id)
            if self.shared is not None:
                self.shared.ended(job.id)
            self._deliveries.check_soon()
            self._wakeup.set()

    def attach_deliverer(self, deliver: Deliver | None) -> None:
        """Set (None: take away) who posts results. Deliveries due meanwhile wait for it."""
        self._deliveries.attach(deliver)
        if deliver is not None:
            self._wakeup.set()

    # --- the loop ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.resume()
        self._loop_task = asyncio.create_task(self._run_forever(), name="scheduler")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        # Let polls and deliveries in flight finish: a delivery cut between posting and
        # recording would be posted again after a restart. Whatever hangs is cancelled.
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=STOP_GRACE_S)
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self.shared is not None:
            await self.shared.stop(self._queue.ids())

    @property
    def alive(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def _run_forever(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("scheduler pass failed; trying again shortly")
                delay = 1.0
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancel that
            # stop() sends when the event fires at the same moment, and the loop never ends.
            try:
                async with asyncio.timeout(max(0.01, min(delay, 30.0))):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def run_once(self) -> float:
        """Start every poll and delivery that is due; return seconds until the next is."""
        if self.shared is not None:
            await self._share(self.shared)
        self._start_due_polls()
        await self._deliveries.start_due()
        await self._purge.run_if_due(self._clock())
        self.last_pass_at = self._clock()
        return self._next_due_in()

    async def drain(self) -> None:
        """Wait for every poll and delivery started so far (tests and shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    def _start_due_polls(self) -> None:
        now = self._clock()
        while len(self._in_flight) < self.settings.max_in_flight:
            tracked = self._queue.first_due(now)
            if tracked is None:
                return
            if self.pause.active:
                self._queue.take(tracked)
                self._hold(tracked, now)
                continue
            if not self.rate.try_take():
                return
            self._queue.take(tracked)
            self._spawn(self._poll(tracked))

    def _hold(self, tracked: Tracked, now: float) -> None:
        """While polling is paused, a due job waits for the pause's end, or ends at its deadline."""
        if now >= tracked.deadline_at:
            self._spawn(self._outcomes.finish(tracked, JobState.TIMED_OUT, error=endings.TIMED_OUT))
        else:
            self._queue.schedule(tracked, min(self.pause.until, tracked.deadline_at) - now)

    def _next_due_in(self) -> float:
        now = self._clock()
        candidates = [60.0 if self.shared is None else self.shared.next_due_in()]
        next_poll_at = self._queue.next_at()
        if next_poll_at is not None and len(self._in_flight) < self.settings.max_in_flight:
            candidates.append(next_poll_at - now)
            if not self.pause.active:
                candidates.append(self.rate.wait_s())
        if self._deliveries.check_at < math.inf:
            candidates.append(self._deliveries.check_at - now)
        return max(0.0, min(candidates))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wakeup.set()  # a slot is free, or a delivery may have become due
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("a scheduler task failed: %r", exc, exc_info=exc)

    async def _poll(self, tracked: Tracked) -> None:
        tracked.polls += 1
        try:
            try:
                separation = await self._api.separation(tracked.remote_id)
            finally:
                self.rate.release()
        except ApiError as exc:
            await self._outcomes.on_api_error(tracked, exc)
            return
        except Exception:
            # A parser crash is one more failed check: back off, and it still ends at the deadline.
            log.exception("job %d: status check crashed", tracked.job_id)
            await self._outcomes.on_failure(tracked, "the status check crashed")
            return
        await self._outcomes.on_status(tracked, separation)
