"""What one status check means for a tracked job: finish it, poll again later, or pause polling.

For a job that was paid for, only a final status or the deadline ends tracking. Every other
answer (unknown codes, HTML pages, odd shapes, a crash while reading them) is transient.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot import endings
from bot.api.taskinfo import Separation
from bot.errors import ApiError
from bot.jobs import Job, JobState, RemoteState
from bot.scheduler.pause import Pause
from bot.scheduler.policy import Policy
from bot.scheduler.queue import PollQueue, Tracked
from bot.store import Store

log = logging.getLogger(__name__)

NOT_FOUND_GRACE_S = 300.0  # a 404 repeated this long (or until the deadline) ends the job
EMPTY_SUCCESS_REPOLLS = 3  # a success without stems is checked this many more times
UNAUTHORIZED_PAUSE_S = 60.0
SLOW_DOWN_PAUSE_S = 5.0


class Outcomes:
    """Turns a status, an API error or a crash into the job's next step."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        pause: Pause,
        policy: Policy,
        queue: PollQueue,
    ) -> None:
        self._store, self._clock, self._pause = store, clock, pause
        self._policy, self._queue = policy, queue

    async def on_status(self, tracked: Tracked, separation: Separation) -> None:
        tracked.failures, tracked.first_404_at = 0, None
        if separation.state == RemoteState.SUCCEEDED and not separation.stems:
            await self._on_empty_success(tracked)
        elif separation.state == RemoteState.SUCCEEDED:
            await self.finish(tracked, JobState.SUCCEEDED, stems=separation.stems,
                              credits=separation.credits)
        elif separation.state == RemoteState.FAILED:  # its words: the log and error_detail
            log.info("job %d: the stem service says it failed: %s",
                     tracked.job_id, separation.error)
            await self.finish(tracked, JobState.FAILED, error=endings.API_FAILED,
                              error_detail=separation.error)
        elif self._clock() >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=endings.TIMED_OUT)
        else:
            if separation.state == RemoteState.UNKNOWN and not tracked.unknown_logged:
                tracked.unknown_logged = True
                log.warning("job %d: unknown status %r; still polling",
                            tracked.job_id, separation.raw_status)
            self._queue.reschedule(tracked)

    async def _on_empty_success(self, tracked: Tracked) -> None:
        tracked.empty_successes += 1
        if tracked.empty_successes > EMPTY_SUCCESS_REPOLLS:
            await self.finish(tracked, JobState.FAILED, error=endings.NO_STEMS)
            return
        log.warning("job %d: finished without readable stems; checking again (%d of %d)",
                    tracked.job_id, tracked.empty_successes, EMPTY_SUCCESS_REPOLLS)
        delay = self._policy.backoff(tracked.empty_successes)
        self._queue.schedule(tracked, delay)

    async def on_api_error(self, tracked: Tracked, exc: ApiError) -> None:
        now = self._clock()
        if now >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=endings.TIMED_OUT)
        elif exc.code == 401:
            wait = self._pause.start(UNAUTHORIZED_PAUSE_S, "the API rejected the API key; "
                                     "check CRUN_API_KEY", level=logging.ERROR)
            self._queue.schedule(tracked, min(wait, tracked.deadline_at - now))
        elif exc.pauses_all:
            wait = self._pause.start(exc.retry_after_s or SLOW_DOWN_PAUSE_S,
                                     f"the API asked us to slow down (code {exc.code})")
            self._queue.schedule(tracked, min(wait, tracked.deadline_at - now))
        elif exc.code == 404:
            await self._on_not_found(tracked, now)
        else:
            await self.on_failure(tracked, f"code {exc.code}")

    async def _on_not_found(self, tracked: Tracked, now: float) -> None:
        """Just after CreateTask the API may not know the job yet: only a long 404 is final."""
        if tracked.first_404_at is None:
            tracked.first_404_at = now
        if now - tracked.first_404_at >= NOT_FOUND_GRACE_S:
            await self.finish(tracked, JobState.FAILED, error=endings.NOT_FOUND)
        else:
            await self.on_failure(tracked, "not found (yet)")

    async def on_failure(self, tracked: Tracked, what: str) -> None:
        """A check that told us nothing: back off, but never past the deadline."""
        now = self._clock()
        if now >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=endings.TIMED_OUT)
            return
        tracked.failures += 1
        delay = self._policy.backoff(tracked.failures)
        delay = min(delay, tracked.deadline_at - now)
        log.info("job %d: status check failed (%s); next in %.1f s", tracked.job_id, what, delay)
        self._queue.schedule(tracked, delay)

    async def finish(self, tracked: Tracked, state: JobState, **changes: Any) -> None:
        """Move the job, then forget it. A store error keeps it tracked and tries again."""
        try:
            job = await self._store.get(tracked.job_id)
            if job is not None and job.state == JobState.RUNNING:
                job = await self._store.move(job, state, poll_count=tracked.polls, **changes)
            else:  # cancelled (or purged) while the check was in flight: keep what it cost
                if job is not None and changes.get("credits") is not None:
                    await self._store.settle_charge(job.id, changes["credits"])
                job = None
        except Exception:
            tracked.failures += 1
            delay = self._policy.backoff(tracked.failures)
            log.exception("job %d: could not record that it is %s; trying again in %.0f s",
                          tracked.job_id, state.value, delay)
            self._queue.schedule(tracked, delay)
            return
        self._queue.forget(tracked.job_id)
        if job is not None:
            await self._settle(job, state)

    async def _settle(self, job: Job, state: JobState) -> None:
        if state == JobState.SUCCEEDED and job.duration_s is not None:
            self._policy.durations.add(job.mode, job.duration_s)
