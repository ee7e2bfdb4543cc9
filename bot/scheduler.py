"""The job loop: which job to poll when, within the request rate; results handed to delivery."""

# Deliver and Delivered live in bot.delivery; they are re-exported here for the loop's users.

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bot.api import StemApi
from bot.delivery import Deliver, Delivered, Deliveries
from bot.errors import ApiError
from bot.jobs import Job, JobState, Mode
from bot.outcomes import TIMED_OUT_TEXT, Outcomes, Tracked
from bot.pause import Pause
from bot.policy import Durations, poll_delay
from bot.rate import RequestRate
from bot.store import Store

log = logging.getLogger(__name__)

__all__ = ["Deliver", "Delivered", "PollPolicy", "Scheduler"]

INTERRUPTED_TEXT = (
    "The bot stopped while this job was being submitted, so it is not known whether the API "
    "started (and charged) it. It was not resent; ask again if you still want it."
)

STOP_GRACE_S = 5.0


# (seconds the job has run, seconds jobs of its mode typically take) -> seconds to the next check
PollPolicy = Callable[[float, float], float]


class Scheduler:
    """One loop for all jobs: a heap of next-poll times, a shared request rate, delivery."""

    def __init__(
        self,
        store: Store,
        api: StemApi,
        deliver: Deliver | None,
        *,
        min_interval_s: float,
        max_interval_s: float,
        requests_per_s: float,
        callbacks: bool = False,
        clock: Callable[[], float] = time.time,
        max_in_flight: int = 32,
        max_delivery_attempts: int = 8,
        on_delivered: Callable[[float], None] | None = None,
        retention_s: float | None = None,
        policy: PollPolicy | None = None,
    ) -> None:
        self._policy = policy  # None: the adaptive policy; benchmarks plug in fixed pollers
        self._retention_s = retention_s
        self._next_purge_at = 0.0
        self._store, self._api = store, api
        self._deliveries = Deliveries(
            store, deliver, clock, max_attempts=max_delivery_attempts, on_delivered=on_delivered
        )
        self._min_s, self._max_s, self._callbacks = min_interval_s, max_interval_s, callbacks
        self._clock = clock
        self.rate = RequestRate(requests_per_s, clock)
        self.durations = Durations()
        self._max_in_flight = max_in_flight
        self._tracked: dict[int, Tracked] = {}
        self._due: dict[int, float] = {}
        self._heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        # When to ask the store for due deliveries: not on every pass (that was most of the
        # statements under load), but when a job ends, a delivery finishes, or a retry is due.
        self._delivery_check_at = 0.0
        self.pause = Pause(clock)
        self._outcomes = Outcomes(
            store, clock, self.pause, self.durations, schedule=self._schedule,
            policy_delay=self._policy_delay, forget=self.forget,
            min_s=min_interval_s, max_s=max_interval_s,
        )
        self.last_pass_at: float | None = None

    # --- tracking ---------------------------------------------------------------------

    @property
    def queue_size(self) -> int:
        return len(self._tracked)

    def tracked_ids(self) -> frozenset[int]:
        """The jobs being polled now (read-only: for health checks and tests)."""
        return frozenset(self._tracked)

    def track(self, job: Job) -> None:
        """Start polling a running job (at the time the policy says)."""
        if job.state != JobState.RUNNING or job.remote_id is None:
            return
        submitted = (job.submitted_at or job.created_at).timestamp()
        deadline = job.deadline_at.timestamp() if job.deadline_at else float("inf")
        tracked = Tracked(job.id, job.remote_id, job.mode, submitted, deadline, job.poll_count)
        self._tracked[job.id] = tracked
        self._schedule(tracked, self._policy_delay(tracked))

    def forget(self, job_id: int) -> None:
        self._tracked.pop(job_id, None)
        self._due.pop(job_id, None)

    def wake(self, job_id: int) -> bool:
        """Poll this job as soon as the request rate allows (a callback said it may be done)."""
        tracked = self._tracked.get(job_id)
        if tracked is None:
            return False
        self._schedule(tracked, 0.0)
        return True

    def _schedule(self, tracked: Tracked, delay_s: float) -> None:
        due = self._clock() + delay_s
        self._due[tracked.job_id] = due
        heapq.heappush(self._heap, (due, next(self._seq), tracked.job_id))
        if self._heap[0][2] == tracked.job_id:
            self._wakeup.set()  # earlier than whatever the loop is sleeping towards

    def _policy_delay(self, tracked: Tracked) -> float:
        elapsed = self._clock() - tracked.submitted_at
        expected = self.durations.expected_s(tracked.mode)
        if self._policy is not None:
            return self._policy(elapsed, expected)
        return poll_delay(
            elapsed, expected, min_s=self._min_s, max_s=self._max_s, callbacks=self._callbacks,
            learned=self.durations.learned(tracked.mode),
        )

    async def resume(self) -> tuple[int, int]:
        """On start: track running jobs, end interrupted submissions; (resumed, interrupted)."""
        for mode in Mode:
            for duration in reversed(await self._store.recent_durations(mode)):
                self.durations.add(mode, duration)
        resumed = interrupted = 0
        for job in await self._store.open_jobs():
            if job.state == JobState.SUBMITTING:
                await self._store.move(job, JobState.INTERRUPTED, error=INTERRUPTED_TEXT)
                interrupted += 1
            else:
                self.track(job)
                resumed += 1
        log.info("scheduler resumed %d running jobs, %d interrupted submissions",
                 resumed, interrupted)
        return resumed, interrupted

    def on_moved(self, job: Job) -> None:
        if job.state.is_terminal:
            self._delivery_check_at = min(self._delivery_check_at, self._clock())
            self._wakeup.set()

    def attach_deliverer(self, deliver: Deliver | None) -> None:
        """Set (None: take away) who posts results. Deliveries due meanwhile wait for it."""
        self._deliveries.attach(deliver)
        if deliver is not None:
            self._delivery_check_at = min(self._delivery_check_at, self._clock())
            self._wakeup.set()

    async def _deliver(self, job_id: int) -> None:
        try:
            await self._deliveries.deliver(job_id)
        finally:
            self._delivery_check_at = min(self._delivery_check_at, self._clock())

    # --- the loop -----------------------------------------------------------------------

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
        self._start_due_polls()
        if self._clock() >= self._delivery_check_at:
            await self._start_due_deliveries()
        await self._purge_if_due()
        self.last_pass_at = self._clock()
        return await self._next_due_in()

    async def _start_due_deliveries(self) -> None:
        # A job that ends while we ask lowers the mark again (see on_moved), so start from inf.
        # A delivery still in flight is no reason to ask again: when it finishes, it says so.
        self._delivery_check_at, now = math.inf, self._clock()
        if not self._deliveries.attached:
            return  # nobody to post results yet: attach_deliverer asks again
        try:
            for job_id in await self._store.due_deliveries():
                if self._deliveries.claim(job_id):
                    self._spawn(self._deliver(job_id))
            following = await self._store.next_delivery_at()
        except Exception:
            self._delivery_check_at = now  # ask again on the next pass
            raise
        if following is not None and following > now:
            self._delivery_check_at = min(self._delivery_check_at, following)

    async def _purge_if_due(self) -> None:
        """Retention runs at most once a day, inside the one loop."""
        now = self._clock()
        if self._retention_s is None or now < self._next_purge_at:
            return
        self._next_purge_at = now + 24 * 3600
        await self._store.purge_finished(now - self._retention_s)

    async def drain(self) -> None:
        """Wait for every poll and delivery started so far (tests and shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    def _start_due_polls(self) -> None:
        now = self._clock()
        while self._heap and len(self._in_flight) < self._max_in_flight:
            due, _, job_id = self._heap[0]
            if self._due.get(job_id) != due:
                heapq.heappop(self._heap)  # superseded by a later schedule, or forgotten
                continue
            if due > now:
                return
            tracked = self._tracked[job_id]
            if self.pause.active:
                heapq.heappop(self._heap)
                self._hold(tracked, now)
                continue
            if not self.rate.try_take():
                return
            heapq.heappop(self._heap)
            del self._due[job_id]
            self._spawn(self._poll(tracked))

    def _hold(self, tracked: Tracked, now: float) -> None:
        """While polling is paused, a due job waits for the pause's end, or ends at its deadline."""
        if now >= tracked.deadline_at:
            del self._due[tracked.job_id]
            self._spawn(self._outcomes.finish(tracked, JobState.TIMED_OUT, error=TIMED_OUT_TEXT))
        else:
            self._schedule(tracked, min(self.pause.until, tracked.deadline_at) - now)

    async def _next_due_in(self) -> float:
        now = self._clock()
        candidates = [60.0]
        if self._heap and len(self._in_flight) < self._max_in_flight:
            candidates.append(self._heap[0][0] - now)
            if not self.pause.active:
                candidates.append(self.rate.wait_s())
        if self._delivery_check_at < math.inf:
            candidates.append(self._delivery_check_at - now)
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

    # --- one poll -------------------------------------------------------------------------

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
