"""The scheduler at the edges: no stray reply ends a paid job; nothing drops, spins or freezes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

import bot.api.client
import bot.api.taskinfo
from bot import endings
from bot.api.taskinfo import Separation
from bot.delivery import Delivered
from bot.jobs import Delivery, Job, JobState, Subscription
from bot.sandbox import Fault
from bot.web import WebServer
from tests._rig import Rig, poll_times, state, submit

FIRST_CHECK_S = 30.0  # 65 % of the default minute, capped at 30 s


async def health(rig: Rig) -> tuple[int, dict[str, Any]]:
    """/healthz's status and body (the rig drives the loop by hand, so it counts as alive)."""
    web = WebServer(rig.engine, lambda: True)
    await rig.engine.scheduler.run_once()
    checks = await web.health()
    checks.pop("scheduler")
    return (200 if all(v is True for v in checks.values()) else 503), checks


@pytest.mark.parametrize("fault", [
    Fault("code", code=522), Fault("code", code=408), Fault("code", code=1234, http_status=200),
    Fault("code", code=422, message="task_id is invalid"), Fault("malformed"),
    Fault("code", code=500, http_status=200),
])
async def test_an_unplanned_status_reply_does_not_end_a_paid_job(rig: Rig, fault: Fault) -> None:
    job_id = await submit(rig)
    rig.clock.advance(FIRST_CHECK_S)
    rig.sandbox.inject("TaskInfo", fault, fault)

    await rig.advance(120, step=2)

    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_404_just_after_create_task_is_retried_and_the_job_delivered(rig: Rig) -> None:
    job_id = await submit(rig)
    rig.sandbox.inject("TaskInfo", *[Fault("code", code=404)] * 4)

    assert rig.engine.scheduler.wake(job_id)  # a callback right after CreateTask
    await rig.settle()
    assert await state(rig, job_id) == JobState.RUNNING
    await rig.advance(180, step=2)

    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_404_that_lasts_five_minutes_ends_the_job_clearly(rig: Rig) -> None:
    rig.sandbox.duration_s = lambda mode: 10_000.0
    job_id = await submit(rig)
    rig.sandbox.set_fault_rate("TaskInfo", 1.0, [Fault("code", code=404)])
    rig.clock.advance(FIRST_CHECK_S)
    await rig.settle()
    assert await state(rig, job_id) == JobState.RUNNING  # the first 404

    await rig.advance(290, step=10)
    assert await state(rig, job_id) == JobState.RUNNING
    await rig.advance(60, step=10)

    job = await rig.engine.store.get(job_id)
    assert job is not None and job.state == JobState.FAILED
    assert job.error == endings.NOT_FOUND  # a code: the words are chosen where shown


async def test_401_pauses_polling_and_tells_the_operator_and_healthz(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = await submit(rig)
    rig.clock.advance(FIRST_CHECK_S)
    rig.sandbox.inject("TaskInfo", Fault("code", code=401))

    with caplog.at_level(logging.INFO):
        await rig.settle()
        status, checks = await health(rig)

    assert status == 503
    assert "polling paused until" in str(checks["polling"])
    assert "because the API rejected the API key" in str(checks["polling"])
    assert any(r.levelno == logging.ERROR and "API key" in r.getMessage() for r in caplog.records)
    assert "test-key" not in caplog.text
    await rig.advance(200, step=5)
    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert (await health(rig))[0] == 200


async def test_a_huge_retry_after_pauses_polling_ten_minutes_at_most(rig: Rig) -> None:
    job_id = await submit(rig)
    rig.clock.advance(FIRST_CHECK_S)
    rig.sandbox.inject("TaskInfo", Fault("code", code=429, retry_after_s=1_000_000_000))
    await rig.settle()

    status, checks = await health(rig)
    assert status == 503 and "because the API asked us to slow down" in str(checks["polling"])
    times = await poll_times(rig, 620, step=5)

    assert times and 595 <= times[0] <= 605
    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert (await health(rig))[0] == 200


async def test_a_pause_never_outlives_a_jobs_deadline(rig: Rig) -> None:
    rig.sandbox.duration_s = lambda mode: 10_000.0
    job_id = await submit(rig)
    await rig.advance(rig.settings.job_deadline_s - 100, step=50)
    rig.sandbox.inject("TaskInfo", Fault("code", code=429, retry_after_s=590))
    assert rig.engine.scheduler.wake(job_id)
    await rig.settle()

    await rig.advance(120, step=10)

    assert await state(rig, job_id) == JobState.TIMED_OUT


async def test_a_parser_crash_counts_toward_the_deadline(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(*args: object) -> Separation:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(bot.api.client, "parse_separation", crash)
    job_id = await submit(rig)

    await rig.advance(rig.settings.job_deadline_s + 60, step=30)
    checks = rig.sandbox.calls["TaskInfo"]
    await rig.advance(300, step=30)

    assert await state(rig, job_id) == JobState.TIMED_OUT
    assert rig.sandbox.calls["TaskInfo"] == checks
    assert "status check crashed" in caplog.text


async def test_a_store_error_while_ending_a_job_does_not_lose_it(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = rig.engine.store
    real_move, failures = store.move, [1]

    async def flaky_move(job: Job, new: JobState, **kw: Any) -> Job:
        if new == JobState.SUCCEEDED and failures:
            failures.pop()
            raise OSError("disk I/O error")
        return await real_move(job, new, **kw)

    monkeypatch.setattr(store, "move", flaky_move)
    job_id = await submit(rig)

    await rig.advance(200, step=5)

    assert not failures
    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_failing_scheduler_task_is_logged_and_its_delivery_retried(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = rig.engine.store
    real, failures = store.subscriptions, [1]

    async def flaky(job_id: int) -> list[Subscription]:
        if failures:
            failures.pop()
            raise OSError("database is locked")
        return await real(job_id)

    job_id = await submit(rig)
    monkeypatch.setattr(store, "subscriptions", flaky)

    await rig.advance(200, step=5)

    assert not failures
    assert "a scheduler task failed" in caplog.text and "database is locked" in caplog.text
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_delivery_in_flight_does_not_make_the_loop_spin(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        started.set()
        await release.wait()
        return {s.id: Delivered(Delivery.CHANNEL) for s in subs}

    rig.engine.scheduler._deliveries._deliver = slow
    store, asked = rig.engine.store, [0]
    real = store.due_deliveries

    async def counted(**kw: Any) -> list[int]:
        asked[0] += 1
        return await real(**kw)

    monkeypatch.setattr(store, "due_deliveries", counted)
    scheduler = rig.engine.scheduler
    job_id = await submit(rig)
    rig.clock.advance(70)  # the separation is done upstream
    assert scheduler.wake(job_id)
    await scheduler.run_once()  # starts the poll
    await asyncio.wait_for(asyncio.gather(*scheduler._in_flight), 5)
    await scheduler.run_once()  # the job ended: starts its delivery, which hangs
    await asyncio.wait_for(started.wait(), 5)
    before = asked[0]

    delays = []
    for _ in range(50):
        rig.clock.advance(0.01)
        delays.append(await scheduler.run_once())

    assert asked[0] == before  # no store query per pass while the delivery is in flight
    assert min(delays) > 1.0
    release.set()
    await rig.engine.scheduler.drain()
    await rig.settle()
    [sub] = await store.subscriptions(job_id)
    assert sub.delivery == Delivery.CHANNEL


async def test_a_success_without_stems_is_checked_three_more_times_then_fails(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.api.taskinfo.parse_separation

    def no_stems(*args: Any) -> Separation:
        return dataclasses.replace(real(*args), stems=())

    monkeypatch.setattr(bot.api.client, "parse_separation", no_stems)
    rig.sandbox.duration_s = lambda mode: 1.0
    job_id = await submit(rig)
    checks = rig.sandbox.calls["TaskInfo"]

    times = await poll_times(rig, 120, step=1)

    job = await rig.engine.store.get(job_id)
    assert job is not None and job.state == JobState.FAILED
    assert job.error == endings.NO_STEMS
    assert rig.sandbox.calls["TaskInfo"] - checks == 4 == len(times)
    assert rig.recorder.delivered_job_ids() == [job_id]


async def test_a_result_shown_whose_record_fails_once_is_not_posted_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the lifecycle machine: a DM after a channel 403 was shown, its record failed,
    # and the retry (Discord now answering) posted it in the channel too.
    real = rig.engine.store.record_delivery
    failures = [OSError("database is locked")]

    async def failing_once(sub: Subscription, outcome: Delivery, **kwargs: Any) -> None:
        if failures and outcome.is_final:
            raise failures.pop()
        await real(sub, outcome, **kwargs)

    monkeypatch.setattr(rig.engine.store, "record_delivery", failing_once)
    job_id = await submit(rig)
    await rig.advance(70, step=5)

    assert not failures
    assert rig.recorder.delivered_job_ids() == [job_id]
    [sub] = await rig.engine.store.subscriptions(job_id)
    assert sub.delivery == Delivery.CHANNEL
