"""What one status check means for a tracked job: finish it, poll again later, or pause polling.

For a job that was paid for, only a final status or the deadline ends tracking. Every other
answer (unknown codes, HTML pages, odd shapes, a crash while reading them) is transient.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.api.taskinfo import NO_STEMS, Separation
from bot.errors import ApiError
from bot.jobs import Job, JobState, Mode, RemoteState
from bot.pause import Pause
from bot.policy import Durations, backoff_delay
from bot.store import Store

log = logging.getLogger(__name__)

TIMED_OUT_TEXT = "The separation did not finish in time; tracking stopped."
NOT_FOUND_TEXT = (
    "The separation service no longer knows this job, so its result cannot be fetched."
)
NO_STEMS_TEXT = f"The separation finished, but {NO_STEMS}: there is nothing to download."
NOT_FOUND_GRACE_S = 300.0  # a 404 repeated this long (or until the deadline) ends the job
EMPTY_SUCCESS_REPOLLS = 3  # a success without stems is checked this many more times
UNAUTHORIZED_PAUSE_S = 60.0
SLOW_DOWN_PAUSE_S = 5.0


@dataclass
class Tracked:
    job_id: int
    remote_id: str
    mode: Mode
    submitted_at: float
    deadline_at: float
    polls: int = 0
    failures: int = 0
    unknown_logged: bool = False
    first_404_at: float | None = None
    empty_successes: int = 0


class Outcomes:
    """Turns a status, an API error or a crash into the job's next step."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        pause: Pause,
        durations: Durations,
        *,
        schedule: Callable[[Tracked, float], None],
        policy_delay: Callable[[Tracked], float],
        forget: Callable[[int], None],
        min_s: float,
        max_s: float,
    ) -> None:
        self._store, self._clock, self._pause, self._durations = store, clock, pause, durations
        self._schedule, self._policy_delay, self._forget = schedule, policy_delay, forget
        self._min_s, self._max_s = min_s, max_s

    async def on_status(self, tracked: Tracked, separation: Separation) -> None:
        tracked.failures, tracked.first_404_at = 0, None
        if separation.state == RemoteState.SUCCEEDED and not separation.stems:
            await self._on_empty_success(tracked)
        elif separation.state == RemoteState.SUCCEEDED:
            await self.finish(tracked, JobState.SUCCEEDED, stems=separation.stems,
                              credits=separation.credits)
        elif separation.state == RemoteState.FAILED:
            await self.finish(tracked, JobState.FAILED,
                              error=separation.error or "The separation failed upstream.")
        elif self._clock() >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=TIMED_OUT_TEXT)
        else:
            if separation.state == RemoteState.UNKNOWN and not tracked.unknown_logged:
                tracked.unknown_logged = True
                log.warning("job %d: unknown status %r; still polling",
                            tracked.job_id, separation.raw_status)
            self._schedule(tracked, self._policy_delay(tracked))

    async def _on_empty_success(self, tracked: Tracked) -> None:
        tracked.empty_successes += 1
        if tracked.empty_successes > EMPTY_SUCCESS_REPOLLS:
            await self.finish(tracked, JobState.FAILED, error=NO_STEMS_TEXT)
            return
        log.warning("job %d: finished without readable stems; checking again (%d of %d)",
                    tracked.job_id, tracked.empty_successes, EMPTY_SUCCESS_REPOLLS)
        delay = backoff_delay(tracked.empty_successes, min_s=self._min_s, max_s=self._max_s)
        self._schedule(tracked, delay)

    async def on_api_error(self, tracked: Tracked, exc: ApiError) -> None:
        now = self._clock()
        if now >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=TIMED_OUT_TEXT)
        elif exc.code == 401:
            wait = self._pause.start(UNAUTHORIZED_PAUSE_S, "the API rejected the API key; "
                                     "check CRUN_API_KEY", level=logging.ERROR)
            self._schedule(tracked, min(wait, tracked.deadline_at - now))
        elif exc.pauses_all:
            wait = self._pause.start(exc.retry_after_s or SLOW_DOWN_PAUSE_S,
                                     f"the API asked us to slow down (code {exc.code})")
            self._schedule(tracked, min(wait, tracked.deadline_at - now))
        elif exc.code == 404:
            await self._on_not_found(tracked, now)
        else:
            await self.on_failure(tracked, f"code {exc.code}")

    async def _on_not_found(self, tracked: Tracked, now: float) -> None:
        """Just after CreateTask the API may not know the job yet: only a long 404 is final."""
        if tracked.first_404_at is None:
            tracked.first_404_at = now
        if now - tracked.first_404_at >= NOT_FOUND_GRACE_S:
            await self.finish(tracked, JobState.FAILED, error=NOT_FOUND_TEXT)
        else:
            await self.on_failure(tracked, "not found (yet)")

    async def on_failure(self, tracked: Tracked, what: str) -> None:
        """A check that told us nothing: back off, but never past the deadline."""
        now = self._clock()
        if now >= tracked.deadline_at:
            await self.finish(tracked, JobState.TIMED_OUT, error=TIMED_OUT_TEXT)
            return
        tracked.failures += 1
        delay = backoff_delay(tracked.failures, min_s=self._min_s, max_s=self._max_s)
        delay = min(delay, tracked.deadline_at - now)
        log.info("job %d: status check failed (%s); next in %.1f s", tracked.job_id, what, delay)
        self._schedule(tracked, delay)

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
            delay = backoff_delay(tracked.failures, min_s=self._min_s, max_s=self._max_s)
            log.exception("job %d: could not record that it is %s; trying again in %.0f s",
                          tracked.job_id, state.value, delay)
            self._schedule(tracked, delay)
            return
        self._forget(tracked.job_id)
        if job is not None:
            await self._settle(job, state)

    async def _settle(self, job: Job, state: JobState) -> None:
        if state == JobState.SUCCEEDED and job.duration_s is not None:
            self._durations.add(job.mode, job.duration_s)
