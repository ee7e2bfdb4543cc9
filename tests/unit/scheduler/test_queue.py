"""The poll queue: a job is due when the policy says; wake, forget and later schedules win."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.jobs import Job, JobState, Mode
from bot.scheduler.policy import Policy
from bot.scheduler.queue import PollQueue
from bot.scheduler.settings import SchedulerSettings
from tests._sandbox_fixtures import FakeClock

EVERY_S = 10.0  # a fixed policy: every job is looked at 10 s from now


class Queue:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.wakeups = 0
        settings = SchedulerSettings(min_interval_s=2.0, max_interval_s=30.0,
                                     requests_per_s=5.0, policy=lambda run, expected: EVERY_S)
        self.queue = PollQueue(Policy(settings, self.clock), self.clock, self._wake)

    def _wake(self) -> None:
        self.wakeups += 1

    def job(self, job_id: int, state: JobState = JobState.RUNNING, remote: str | None = "r") -> Job:
        now = datetime.fromtimestamp(self.clock(), UTC)
        return Job(job_id, "task", "song", Mode.VOCAL, state, None, None, None, now,
                   remote_id=remote, submitted_at=now)


@pytest.fixture
def q() -> Queue:
    return Queue()


def test_a_tracked_job_is_due_when_the_policy_says_and_stays_queued_until_taken(q: Queue) -> None:
    q.queue.track(q.job(1))

    assert q.queue.ids() == {1} and len(q.queue) == 1
    assert q.queue.first_due(q.clock()) is None
    assert q.queue.next_at() == q.clock() + EVERY_S
    due = q.queue.first_due(q.clock() + EVERY_S)
    assert due is not None and due.job_id == 1
    assert q.queue.first_due(q.clock() + EVERY_S) is due  # peeking does not take it

    q.queue.take(due)
    assert q.queue.first_due(q.clock() + EVERY_S) is None and q.queue.ids() == {1}


@pytest.mark.parametrize(("state", "remote"), [(JobState.SUBMITTING, None),
                                               (JobState.RUNNING, None),
                                               (JobState.SUCCEEDED, "r")])
def test_only_a_running_job_with_a_remote_id_is_tracked(
    q: Queue, state: JobState, remote: str | None
) -> None:
    q.queue.track(q.job(1, state, remote))

    assert len(q.queue) == 0 and q.queue.next_at() is None


def test_wake_makes_a_job_due_now_and_rings_the_loop(q: Queue) -> None:
    q.queue.track(q.job(1))
    q.queue.track(q.job(2))
    rung = q.wakeups

    assert q.queue.wake(2)
    due = q.queue.first_due(q.clock())

    assert due is not None and due.job_id == 2
    assert q.wakeups == rung + 1  # earlier than whatever the loop sleeps towards
    assert not q.queue.wake(99)  # not polled: nothing to wake


def test_a_forgotten_job_is_never_due_again(q: Queue) -> None:
    q.queue.track(q.job(1))
    q.queue.forget(1)

    assert q.queue.first_due(q.clock() + 1000) is None and q.queue.ids() == frozenset()


def test_a_later_schedule_supersedes_an_earlier_one(q: Queue) -> None:
    q.queue.track(q.job(1))
    tracked = q.queue.first_due(q.clock() + EVERY_S)
    assert tracked is not None

    q.queue.schedule(tracked, 50.0)

    assert q.queue.first_due(q.clock() + EVERY_S) is None  # the old entry is dropped
    assert q.queue.first_due(q.clock() + 50.0) is tracked
