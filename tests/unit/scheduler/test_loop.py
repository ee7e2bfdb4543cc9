"""The scheduler: economical polling within the rate, back-off, deadlines, exactly-once delivery."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot import endings
from bot.engine import Engine
from bot.jobs import Delivery, JobState, Mode
from bot.sandbox import Fault
from tests._rig import SONG, TASK, Recorder, Rig, poll_times, state, submit


async def test_a_job_is_polled_sparingly_and_delivered_once(rig: Rig) -> None:
    job_id = await submit(rig)

    times = await poll_times(rig, 90)
    await rig.advance(300, step=10)

    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]
    assert times[0] >= 25  # nothing before half the expected minute
    assert len(times) <= 10  # a fixed 5 s poller would need 12
    subs = await rig.engine.store.subscriptions(job_id)
    assert [s.delivery for s in subs] == [Delivery.CHANNEL]


async def test_the_store_survives_a_restart_mid_job_and_delivers_once(
    rig: Rig, tmp_path: Path
) -> None:
    job_id = await submit(rig)
    await rig.advance(20, step=5)
    await rig.engine.close()  # the bot stops mid-job

    second = Recorder()
    engine = await Engine.open(rig.settings, second, clock=rig.clock)
    rig.engine, rig.recorder = engine, second
    assert await engine.scheduler.resume() == (1, 0)
    await rig.advance(120, step=5)
    await engine.close()

    third = Recorder()  # and once more after it finished: nothing is delivered again
    engine = await Engine.open(rig.settings, third, clock=rig.clock)
    rig.engine, rig.recorder = engine, third
    await engine.scheduler.resume()
    await rig.advance(60, step=5)

    assert second.delivered_job_ids() == [job_id]
    assert third.calls == []
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_an_interrupted_submission_is_reported_not_resent(rig: Rig) -> None:
    job = await rig.engine.store.create_job(
        music_task_id=TASK, song_id=SONG, mode=Mode.VOCAL, song_title="Midnight Addiction",
        guild_id=1, channel_id=2, requester_id=3, callback_token="t", estimated_credits=1.0,
    )  # the process dies here, before CreateTask is answered
    await rig.engine.close()

    recorder = Recorder()
    engine = await Engine.open(rig.settings, recorder, clock=rig.clock)
    rig.engine, rig.recorder = engine, recorder
    assert await engine.scheduler.resume() == (0, 1)
    await rig.settle()

    assert await state(rig, job.id) == JobState.INTERRUPTED
    [(delivered, _)] = recorder.calls
    assert delivered.error == endings.INTERRUPTED
    assert rig.sandbox.calls["CreateTask"] == 0


async def test_429_pauses_all_polling_for_retry_after(rig: Rig) -> None:
    first = await submit(rig, "demo-song-1")
    await submit(rig, "demo-song-2")
    rig.clock.advance(29.5)  # the first check: 65 % of the default minute, capped at 30 s
    rig.sandbox.inject("TaskInfo", Fault("code", code=429, retry_after_s=12))

    times = await poll_times(rig, 20)

    # both due polls went out together and one hit the 429; nobody polled again for 12 s
    assert times[:2] == [0.5, 0.5]
    assert all(t >= 12.5 for t in times[2:])
    assert len(times) >= 3
    assert await state(rig, first) == JobState.RUNNING


async def test_server_errors_back_off_exponentially(rig: Rig) -> None:
    await submit(rig)
    rig.clock.advance(29.5)  # the first check: 65 % of the default minute, capped at 30 s
    rig.sandbox.inject("TaskInfo", *[Fault("code", code=500)] * 3)

    times = await poll_times(rig, 20)

    gaps = [round(b - a, 1) for a, b in itertools.pairwise(times)][:3]
    assert gaps == [2.0, 4.0, 8.0]


async def test_timeouts_back_off_and_the_job_still_finishes(rig: Rig) -> None:
    job_id = await submit(rig)
    rig.clock.advance(29.5)  # the first check: 65 % of the default minute, capped at 30 s
    rig.sandbox.inject("TaskInfo", Fault("timeout", delay_s=2.0), Fault("timeout", delay_s=2.0))

    times = await poll_times(rig, 8)
    await rig.advance(120, step=5)

    assert [round(b - a, 1) for a, b in itertools.pairwise(times)][:2] == [2.0, 4.0]
    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_job_past_its_deadline_times_out_and_is_reported(rig: Rig) -> None:
    rig.sandbox.duration_s = lambda mode: 10_000.0
    job_id = await submit(rig)

    await rig.advance(rig.settings.job_deadline_s + 60, step=30)

    assert await state(rig, job_id) == JobState.TIMED_OUT
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_unknown_statuses_keep_polling(rig: Rig) -> None:
    rig.sandbox.running_word = "thinking-hard"
    rig.sandbox.duration_s = lambda mode: 200.0
    job_id = await submit(rig)

    times = await poll_times(rig, 150, step=2)
    assert await state(rig, job_id) == JobState.RUNNING
    await rig.advance(100, step=5)

    assert len(times) >= 5
    assert await state(rig, job_id) == JobState.SUCCEEDED


async def test_upstream_failure_reaches_the_requester(rig: Rig) -> None:
    job_id = await submit(rig)
    job = await rig.engine.store.get(job_id)
    assert job is not None and job.remote_id
    rig.sandbox.finish(job.remote_id, success=False, message="audio too short")

    await rig.advance(40, step=5)

    failed = await rig.engine.store.get(job_id)
    assert failed is not None and failed.state == JobState.FAILED
    # issue 12: a code, not the API's words; they are kept for operators only
    assert (failed.error, failed.error_detail) == (endings.API_FAILED, "audio too short")
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_the_request_rate_is_never_exceeded(rig: Rig) -> None:
    for n in range(20):
        rig.sandbox.add_music_task(f"task-{n}", [(f"song-{n}-a", "A"), (f"song-{n}-b", "B")])
    for n in range(20):
        for side in "ab":
            await submit(rig, f"song-{n}-{side}", task=f"task-{n}")
        rig.clock.advance(0.25)  # each task's pre-flight takes a place in the request rate too
    rig.clock.advance(24.0)

    times = await poll_times(rig, 30, step=0.25)

    assert len(times) >= 40
    for t in times:
        in_window = [u for u in times if t <= u < t + 1.0]
        assert len(in_window) <= rig.settings.api_requests_per_s


async def test_failed_delivery_is_retried_until_it_lands_once(rig: Rig) -> None:
    rig.recorder.fail = True
    job_id = await submit(rig)
    await rig.advance(70, step=5)
    assert len(rig.recorder.calls) >= 1

    rig.recorder.fail = False
    await rig.advance(120, step=5)
    await rig.advance(600, step=60)

    subs = await rig.engine.store.subscriptions(job_id)
    assert subs[0].delivery == Delivery.CHANNEL
    assert sum(1 for _ in rig.recorder.calls) == subs[0].attempts


async def test_wake_polls_a_job_at_once(rig: Rig) -> None:
    job_id = await submit(rig)
    checks = rig.sandbox.calls["TaskInfo"]  # the free source check
    rig.clock.advance(5)
    await rig.settle()
    assert rig.sandbox.calls["TaskInfo"] == checks

    assert rig.engine.scheduler.wake(job_id)
    await rig.settle()

    assert rig.sandbox.calls["TaskInfo"] == checks + 1


@pytest.mark.parametrize("code", [500, 401])  # 401 pauses all polling: still the deadline
async def test_a_job_whose_checks_keep_failing_still_times_out(rig: Rig, code: int) -> None:
    rig.sandbox.duration_s = lambda mode: 10_000.0
    job_id = await submit(rig)
    rig.sandbox.set_fault_rate("TaskInfo", 1.0, [Fault("code", code=code)])

    await rig.advance(rig.settings.job_deadline_s + 120, step=30)
    checks = rig.sandbox.calls["TaskInfo"]
    await rig.advance(600, step=30)

    assert await state(rig, job_id) == JobState.TIMED_OUT
    assert rig.recorder.delivered_job_ids() == [job_id]
    assert rig.sandbox.calls["TaskInfo"] == checks  # no more checks once it ended
