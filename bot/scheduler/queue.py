"""The poll queue: the jobs being polled and when each is due (track, forget, wake, next due)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from bot.jobs import Job, JobState, Mode
from bot.scheduler.policy import Policy


@dataclass
class Tracked:
    """A running job as the poll queue knows it, with what its checks have said so far."""

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


class PollQueue:
    """A heap of next-check times; a later schedule supersedes an earlier one for the same job."""

    def __init__(
        self, policy: Policy, clock: Callable[[], float], wakeup: Callable[[], None]
    ) -> None:
        self._policy, self._clock, self._wakeup = policy, clock, wakeup
        self._tracked: dict[int, Tracked] = {}
        self._due: dict[int, float] = {}
        self._heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._tracked)

    def ids(self) -> frozenset[int]:
        return frozenset(self._tracked)

    def track(self, job: Job) -> None:
        """Start polling a running job (at the time the policy says)."""
        if job.state != JobState.RUNNING or job.remote_id is None:
            return
        submitted = (job.submitted_at or job.created_at).timestamp()
        deadline = job.deadline_at.timestamp() if job.deadline_at else float("inf")
        tracked = Tracked(job.id, job.remote_id, job.mode, submitted, deadline, job.poll_count)
        self._tracked[job.id] = tracked
        self.reschedule(tracked)

    def forget(self, job_id: int) -> None:
        self._tracked.pop(job_id, None)
        self._due.pop(job_id, None)

    def wake(self, job_id: int) -> bool:
        """Due now (a callback said it may be done); False when the job is not polled."""
        tracked = self._tracked.get(job_id)
        if tracked is None:
            return False
        self.schedule(tracked, 0.0)
        return True

    def reschedule(self, tracked: Tracked) -> None:
        """Due when the policy says, from what the job has run and jobs like it take."""
        self.schedule(tracked, self._policy.delay(tracked.mode, tracked.submitted_at))

    def schedule(self, tracked: Tracked, delay_s: float) -> None:
        if tracked.job_id not in self._tracked:
            return  # forgotten while its check was in flight (ended, or its lease went elsewhere)
        due = self._clock() + delay_s
        self._due[tracked.job_id] = due
        heapq.heappush(self._heap, (due, next(self._seq), tracked.job_id))
        if self._heap[0][2] == tracked.job_id:
            self._wakeup()  # earlier than whatever the loop is sleeping towards

    def first_due(self, now: float) -> Tracked | None:
        """The job whose check is due first, if it is due by `now` (it stays queued)."""
        while self._heap:
            due, _, job_id = self._heap[0]
            if self._due.get(job_id) != due:
                heapq.heappop(self._heap)  # superseded by a later schedule, or forgotten
                continue
            return self._tracked[job_id] if due <= now else None
        return None

    def take(self, tracked: Tracked) -> None:
        """Take the job `first_due` returned out of the queue (until it is scheduled again)."""
        heapq.heappop(self._heap)
        del self._due[tracked.job_id]

    def next_at(self) -> float | None:
        """When the earliest entry is due (perhaps a superseded one: at worst an early wake)."""
        return self._heap[0][0] if self._heap else None
