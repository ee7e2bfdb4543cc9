"""After CreateTask: nothing strands a job, an unconfirmed one can be adopted, an ended paid job
can be re-checked, and cancel never loses a delivery (issue 9, findings 1, 4, 6, 8)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import endings
from bot.delivery import Delivered
from bot.engine import Engine
from bot.errors import ApiError, UnconfirmedSubmission
from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.sandbox import Fault, Sandbox, serve
from bot.service import Outcome, Request
from bot.service.followup import Viewer
from bot.store import Store
from bot.web import WebServer
from tests._rig import Rig
from tests._sandbox_fixtures import free_port
from tests._settings import make_settings
from tests._sqlite import sqlite

TASK, SONG = "demo-music-task", "demo-song-1"


def req(user: int, guild: int = 10) -> Request:
    return Request(TASK, SONG, Mode.VOCAL, guild_id=guild, channel_id=20, user_id=user)


async def deliveries(store: Store, job_id: int) -> dict[int | None, Delivery]:
    return {s.user_id: s.delivery for s in await store.subscriptions(job_id)}


# --- finding 1: an unconfirmed submission the API later reveals is adopted ------------------


@dataclass
class Site:
    engine: Engine
    sandbox: Sandbox
    url: str
    delivered: asyncio.Queue[tuple[Job, list[Subscription]]]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The engine with its web server for callbacks, polling rarely: callbacks drive it."""
    port = free_port()
    sandbox = Sandbox(duration_s=lambda mode: 0.3)
    delivered: asyncio.Queue[tuple[Job, list[Subscription]]] = asyncio.Queue()

    async def deliver(job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        delivered.put_nowait((job, list(subs)))
        return {s.id: Delivered(Delivery.CHANNEL) for s in subs}

    api = await serve(sandbox)
    settings = make_settings(
        tmp_path / "site.sqlite3", api.base_url, public_url=f"http://127.0.0.1:{port}",
        http_port=port, poll_max_interval_s=60.0, poll_min_interval_s=30.0,
    )
    engine = await Engine.open(settings, deliver)
    web = WebServer(engine, lambda: True)
    await web.start("127.0.0.1", port)
    await engine.start()
    try:
        yield Site(engine, sandbox, f"http://127.0.0.1:{port}", delivered)
    finally:
        await api.close()
        await web.close()
        await engine.close()


async def made_upstream_anyway(site: Site, job: Job) -> str:
    """What a proxy's 5xx can hide: the API did make the separation the bot asked for. Sent
    over HTTP exactly as the bot sent it (same input, same per-job callback URL)."""
    body = {
        "model": site.engine.settings.crun_model,
        "callback_url": site.engine.callback_url(job.callback_token or ""),
        "input": {"task_id": job.music_task_id, "suno_id": job.song_id, "mode": job.mode.value},
    }
    base = site.engine.settings.crun_api_base
    async with aiohttp.ClientSession() as http, http.post(
        f"{base}/api/v1/client/job/CreateTask", json=body, headers={"x-api-key": "k"}
    ) as reply:
        return str((await reply.json())["data"]["task_id"])


async def test_a_callback_naming_an_unconfirmed_submission_adopts_and_delivers_it(
    site: Site,
) -> None:
    site.sandbox.inject("CreateTask", Fault("code", code=502, http_status=502))
    with pytest.raises(UnconfirmedSubmission):
        await site.engine.service.submit(req(user=3))
    lost = await site.engine.store.get(1)
    assert lost is not None and lost.state == JobState.INTERRUPTED and lost.remote_id is None
    remote_id = await made_upstream_anyway(site, lost)

    job, subs = await asyncio.wait_for(site.delivered.get(), timeout=10)

    assert (job.id, job.state, job.remote_id) == (1, JobState.SUCCEEDED, remote_id)
    assert job.stems and [s.user_id for s in subs] == [3]  # the requester gets the result
    assert await sqlite(site.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 1


async def test_a_callback_body_is_only_a_hint_that_task_info_must_confirm(site: Site) -> None:
    site.sandbox.inject("CreateTask", Fault("code", code=500))
    with pytest.raises(UnconfirmedSubmission):
        await site.engine.service.submit(req(user=3))
    job = await site.engine.store.get(1)
    assert job is not None and job.callback_token

    async with aiohttp.ClientSession() as http:
        url = f"{site.url}/callbacks/{job.callback_token}"
        for body in ({"task_id": "sep-made-up"}, {"task_id": 12}, {"data": {"taskId": "../x"}}):
            async with http.post(url, json=body) as reply:
                assert reply.status == 200

    after = await site.engine.store.get(1)
    assert after is not None and after.state == JobState.INTERRUPTED and after.remote_id is None
    assert site.sandbox.calls["TaskInfo"] == 2  # the check before paying, and the made-up id
    assert site.engine.scheduler.queue_size == 0


# --- finding 4: nothing after CreateTask strands a job ---------------------------------------


async def test_a_crash_reading_the_create_task_answer_keeps_the_charge_and_ends_the_job(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rig.engine.api.create_separation

    async def crashing(*args: Any, **kwargs: Any) -> str:
        await real(*args, **kwargs)  # sent, and charged upstream
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(rig.engine.api, "create_separation", crashing)
    with pytest.raises(UnconfirmedSubmission):
        await rig.engine.service.submit(req(user=1))
    monkeypatch.undo()

    later = await rig.engine.service.submit(req(user=2))

    first = await rig.engine.store.get(1)
    assert first is not None and first.state == JobState.INTERRUPTED
    assert first.error == endings.UNCONFIRMED
    assert later.outcome == Outcome.CREATED and later.job.id == 2  # not joined to a dead job
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 2


async def test_a_store_error_after_create_task_leaves_a_job_the_next_request_revives(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_move = rig.engine.store.move

    async def failing_move(job: Job, new: JobState, **kwargs: Any) -> Job:
        if new == JobState.RUNNING:
            raise OSError("disk I/O error")
        return await real_move(job, new, **kwargs)

    monkeypatch.setattr(rig.engine.store, "move", failing_move)
    with caplog.at_level(logging.INFO, logger="bot.service"), pytest.raises(OSError):
        await rig.engine.service.submit(req(user=1))
    monkeypatch.undo()
    [remote_id] = rig.sandbox.separations

    joined = await rig.engine.service.submit(req(user=2))
    await rig.advance(70, step=5)

    assert f"job 1: remote_id {remote_id}" in caplog.text  # durable before the write failed
    assert joined.outcome == Outcome.JOINED and joined.job.id == 1
    assert joined.job.state == JobState.RUNNING and joined.job.remote_id == remote_id
    assert rig.recorder.delivered_job_ids() == [1]
    assert await deliveries(rig.engine.store, 1) == {1: Delivery.CHANNEL, 2: Delivery.CHANNEL}
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_a_submission_whose_writes_commit_is_tracked_though_reading_back_fails(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreadable(job_id: int) -> Job | None:
        raise OSError("disk I/O error")

    # Every write commits; only a read after a commit fails. A move that was committed is
    # done: its caller must not take it for a failure and skip what follows (tracking).
    monkeypatch.setattr(rig.engine.store, "get", unreadable)
    made = await rig.engine.service.submit(req(user=1))
    monkeypatch.undo()
    await rig.advance(70, step=5)

    assert made.outcome == Outcome.CREATED and made.job.state == JobState.RUNNING
    assert rig.recorder.delivered_job_ids() == [made.job.id]
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_a_job_whose_remote_id_could_not_be_written_is_revived_by_its_callback(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = site.engine.store
    real_move = store.move

    async def failing_move(job: Job, new: JobState, **kwargs: Any) -> Job:
        if new == JobState.RUNNING:
            raise OSError("disk I/O error")
        return await real_move(job, new, **kwargs)

    monkeypatch.setattr(store, "move", failing_move)
    with pytest.raises(OSError):
        await site.engine.service.submit(req(user=3))
    monkeypatch.undo()  # the disk recovers; nobody asks for the song again

    job, subs = await asyncio.wait_for(site.delivered.get(), timeout=10)

    [remote_id] = site.sandbox.separations
    assert (job.id, job.state, job.remote_id) == (1, JobState.SUCCEEDED, remote_id)
    assert [s.user_id for s in subs] == [3]
    assert site.sandbox.calls["CreateTask"] == 1


async def test_a_dead_submission_is_ended_not_joined_by_the_next_request(rig: Rig) -> None:
    dead = await rig.engine.store.create_job(
        music_task_id=TASK, song_id=SONG, mode=Mode.VOCAL, song_title="t", guild_id=10,
        channel_id=20, requester_id=1, callback_token="dead-token-0123456789",
        estimated_credits=1.0,
    )  # its submission crashed in this process, before or during CreateTask

    later = await rig.engine.service.submit(req(user=2))
    await rig.settle()

    ended = await rig.engine.store.get(dead.id)
    assert ended is not None and ended.state == JobState.INTERRUPTED
    assert later.outcome == Outcome.CREATED and later.job.id != dead.id
    assert rig.recorder.delivered_job_ids() == [dead.id]  # its requester is told


async def test_a_refusal_is_recorded_despite_one_store_error_and_told_once_in_the_reply(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_move = rig.engine.store.move
    failures = [OSError("database is locked")]

    async def failing_once(job: Job, new: JobState, **kwargs: Any) -> Job:
        if failures:
            raise failures.pop()
        return await real_move(job, new, **kwargs)

    rig.sandbox.inject("CreateTask", Fault("code", code=402))
    monkeypatch.setattr(rig.engine.store, "move", failing_once)
    with pytest.raises(ApiError) as refused:
        await rig.engine.service.submit(req(user=1))
    monkeypatch.undo()
    await rig.settle()

    assert refused.value.code == 402 and not failures
    job = await rig.engine.store.get(1)
    assert job is not None and job.state == JobState.FAILED
    assert await deliveries(rig.engine.store, 1) == {1: Delivery.SHOWN}
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 0  # refunded
    assert rig.recorder.calls == []  # told in the reply, not again


async def test_a_refusal_the_store_cannot_record_is_refunded_and_told_once_by_delivery(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_move = rig.engine.store.move

    async def failing_end(job: Job, new: JobState, **kwargs: Any) -> Job:
        if new != JobState.INTERRUPTED:
            raise OSError("disk I/O error")
        return await real_move(job, new, **kwargs)

    rig.sandbox.inject("CreateTask", Fault("code", code=402))
    monkeypatch.setattr(rig.engine.store, "move", failing_end)
    # Not "refused": that reply would be the first of two tellings, since the job is still
    # open in the file and whoever settles it tells its requester by a delivery.
    with pytest.raises(OSError):
        await rig.engine.service.submit(req(user=1))
    monkeypatch.undo()

    later = await rig.engine.service.submit(req(user=2))  # ends the dead job, then pays anew
    await rig.settle()

    # The 402 proved nothing was made: the job ends failed and refunded, not interrupted with
    # its estimate kept (it used to: the refusal was forgotten with the failed write).
    first = await rig.engine.store.get(1)
    assert first is not None and first.state == JobState.FAILED
    assert first.error == "refused:402"
    ledger_rows = "SELECT COUNT(*) FROM ledger WHERE job_id = 1"
    assert await sqlite(rig.engine.store).scalar(ledger_rows) == 0
    assert later.outcome == Outcome.CREATED and later.job.id == 2
    [(_, subs)] = [c for c in rig.recorder.calls if c[0].id == 1]
    assert [s.user_id for s in subs] == [1]
    assert await deliveries(rig.engine.store, 1) == {1: Delivery.CHANNEL}


# --- finding 6: told means the requester only; cancel never loses a delivery ---------------


async def test_a_failed_submission_tells_only_the_requester_and_delivers_to_joiners(
    rig: Rig,
) -> None:
    store = rig.engine.store
    job = await store.create_job(
        music_task_id=TASK, song_id=SONG, mode=Mode.VOCAL, song_title="t", guild_id=10,
        channel_id=20, requester_id=1, callback_token=None, estimated_credits=1.0,
    )
    await store.subscribe(job, user_id=2, guild_id=11, channel_id=21)

    await store.move(job, JobState.FAILED, error="refused", told=True)
    await rig.settle()

    assert await deliveries(store, job.id) == {1: Delivery.SHOWN, 2: Delivery.CHANNEL}
    [(_, subs)] = rig.recorder.calls
    assert [s.user_id for s in subs] == [2]


async def test_a_cancel_that_meets_a_finished_job_neither_raises_nor_loses_the_result(
    rig: Rig,
) -> None:
    submitted = await rig.engine.service.submit(req(user=1))
    stale = submitted.job  # what the cancel command read: still running
    rig.clock.advance(70)
    rig.sandbox.due()
    await rig.engine.scheduler.run_once()  # the poll that finds it done...
    await rig.engine.scheduler.drain()  # ...ends it; its delivery is due, not yet made

    done = await rig.engine.service.jobs.cancel(stale, Viewer(1, 10))
    await rig.settle()

    assert not done.ended and done.job.state == JobState.SUCCEEDED
    assert rig.recorder.delivered_job_ids() == [1]
    assert await deliveries(rig.engine.store, 1) == {1: Delivery.CHANNEL}


async def test_a_cancelled_job_stores_who_cancelled_it_as_a_code(rig: Rig) -> None:
    first = await rig.engine.service.submit(req(user=1))
    await rig.engine.service.submit(req(user=2))

    await rig.engine.service.jobs.cancel(first.job, Viewer(2, 10))
    done = await rig.engine.service.jobs.cancel(first.job, Viewer(1, 10))

    assert done.ended and done.job.state == JobState.CANCELLED
    assert done.job.error == endings.cancelled_by(1) == "cancelled_by:1"  # the last one


async def test_another_servers_admin_only_removes_their_servers_subscriptions(rig: Rig) -> None:
    first = await rig.engine.service.submit(req(user=1, guild=10))
    await rig.engine.service.submit(req(user=2, guild=11))  # joins from another server
    await rig.engine.service.submit(req(user=3, guild=11))

    done = await rig.engine.service.jobs.cancel(first.job, Viewer(99, 11, is_admin=True))

    assert not done.ended and done.stopped == 2 and done.waiting == 1
    job = await rig.engine.store.get(1)
    assert job is not None and job.state == JobState.RUNNING
    assert await deliveries(rig.engine.store, 1) == {
        1: Delivery.WAITING, 2: Delivery.CANCELLED, 3: Delivery.CANCELLED,
    }


# --- finding 8: a failed or timed-out paid job is re-checked for free -----------------------


async def test_a_timed_out_job_that_finished_after_all_is_delivered_on_a_re_check(
    rig: Rig,
) -> None:
    rig.sandbox.duration_s = lambda mode: 10_000.0
    submitted = await rig.engine.service.submit(req(user=1))
    await rig.engine.service.submit(req(user=2, guild=11))
    await rig.advance(rig.settings.job_deadline_s + 120, step=60)
    timed_out = await rig.engine.store.get(1)
    assert timed_out is not None and timed_out.state == JobState.TIMED_OUT
    told_of_timeout = len(rig.recorder.calls)
    rig.sandbox.finish(submitted.job.remote_id or "")

    rechecked = await rig.engine.service.jobs.recheck(timed_out, shown_to=1)
    await rig.settle()

    assert rechecked.state == JobState.SUCCEEDED and len(rechecked.stems) == 2
    assert await deliveries(rig.engine.store, 1) == {1: Delivery.SHOWN, 2: Delivery.CHANNEL}
    job, subs = rig.recorder.calls[-1]
    assert len(rig.recorder.calls) == told_of_timeout + 1
    assert job.state == JobState.SUCCEEDED and [s.user_id for s in subs] == [2]
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_a_re_check_of_a_job_that_really_failed_changes_nothing(rig: Rig) -> None:
    submitted = await rig.engine.service.submit(req(user=1))
    rig.sandbox.finish(submitted.job.remote_id or "", success=False)
    await rig.advance(70, step=5)
    failed = await rig.engine.store.get(1)
    assert failed is not None and failed.state == JobState.FAILED
    calls = len(rig.recorder.calls)

    again = await rig.engine.service.jobs.recheck(failed, shown_to=1)
    await rig.settle()

    assert again.state == JobState.FAILED
    assert len(rig.recorder.calls) == calls
