"""The engine's event hub: typed signals, and the one place the engine wires them."""

from __future__ import annotations

import pytest

from bot.events import JobEvents, Signal
from bot.jobs import Job, JobState
from tests._rig import Rig, state, submit


def test_a_signal_calls_its_subscribers_in_order_until_they_leave() -> None:
    seen: list[str] = []
    signal: Signal[int] = Signal("numbers")
    first, second = (lambda n: seen.append(f"a{n}")), (lambda n: seen.append(f"b{n}"))
    signal.subscribe(first)
    signal.subscribe(second)

    signal.publish(1)
    signal.unsubscribe(first)
    signal.publish(2)

    assert seen == ["a1", "b1", "b2"]


def test_a_failing_subscriber_is_logged_and_the_others_are_still_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[int] = []
    signal: Signal[int] = Signal("numbers")

    def broken(n: int) -> None:
        raise RuntimeError("a subscriber bug")

    signal.subscribe(broken)
    signal.subscribe(seen.append)
    signal.publish(7)

    assert seen == [7]
    assert "a subscriber of numbers failed" in caplog.text


def test_each_hub_has_its_own_subscribers() -> None:
    one, two = JobEvents(), JobEvents()
    one.moved.subscribe(print)
    assert two.moved.subscribers == ()


async def test_the_engine_subscribes_the_scheduler_and_hands_the_store_its_moves(
    rig: Rig,
) -> None:
    seen: list[tuple[int, JobState]] = []

    def watcher(job: Job) -> None:
        seen.append((job.id, job.state))

    assert rig.engine.scheduler.on_moved in rig.engine.events.moved.subscribers
    rig.engine.watch_jobs(watcher)
    job_id = await submit(rig)
    await rig.advance(120, step=5)
    rig.engine.unwatch_jobs(watcher)

    assert seen == [(job_id, JobState.RUNNING), (job_id, JobState.SUCCEEDED)]
    assert watcher not in rig.engine.events.moved.subscribers
    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]  # the scheduler heard the ending


async def test_the_scheduler_tracks_a_job_from_its_published_move_and_lets_go_at_its_end(
    rig: Rig,
) -> None:
    """Nobody hands the scheduler a job by hand: the move to running, published by the store,
    is what starts its polling, and the move to an end is what stops it."""
    job_id = await submit(rig)
    assert job_id in rig.engine.scheduler.tracked_ids()

    await rig.advance(120, step=5)

    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert job_id not in rig.engine.scheduler.tracked_ids()


async def test_a_job_nobody_publishes_is_not_polled(rig: Rig) -> None:
    rig.engine.events.moved.unsubscribe(rig.engine.scheduler.on_moved)
    job_id = await submit(rig)

    assert job_id not in rig.engine.scheduler.tracked_ids()
    assert await state(rig, job_id) == JobState.RUNNING
