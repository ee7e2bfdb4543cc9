"""Campaign 2: TaskInfo fails 30 % of the time in every known way; nothing lost or re-bought."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.errors import _USER_TEXT, REFUSED_TEXT, ApiError, UnconfirmedSubmission
from bot.jobs import Delivery, JobState, Mode
from bot.sandbox import Fault, serve
from bot.service import Request
from tests._rig import Recorder, Rig, moving_time_for_places
from tests._sandbox_fixtures import KEY, FakeClock
from tests._settings import make_settings
from tests._sqlite import sqlite
from tests.survival._campaign import CampaignReport, guarantee_mix, report, size
from tests.survival._sandbox import WatchedSandbox, worst_window

JOBS = size(20, 200)
FAULT_RATE = 0.3
TIMEOUT_S = 0.2  # CRUN_TIMEOUT_S: a "timeout" fault costs this much real time
TASKINFO_FAULTS = (
    Fault("code", 429, retry_after_s=3.0),
    Fault("code", 455),
    Fault("code", 500),
    Fault("timeout", delay_s=2.0),
    Fault("malformed"),
    Fault("reset"),
    Fault("code", 500, http_status=200),  # an error inside an HTTP 200
    Fault("code", 455, http_status=200),
)
CLEAR_TEXTS = set(_USER_TEXT.values())


@asynccontextmanager
async def open_rig(
    tmp_path: Path, seed: int, **overrides: object
) -> AsyncIterator[tuple[Rig, WatchedSandbox]]:
    clock = FakeClock()
    rng = random.Random(seed)
    sandbox = WatchedSandbox(
        clock=clock, seed=seed,
        duration_s=lambda mode: rng.uniform(40, 90) * (2 if mode is Mode.INSTRUMENTAL else 1),
    )
    async with await serve(sandbox) as server:
        settings = make_settings(tmp_path / f"faults-{seed}.sqlite3", server.base_url,
                                 crun_timeout_s=TIMEOUT_S, **overrides)
        recorder = Recorder()
        engine = await Engine.open(settings, recorder, clock=clock)
        await engine.scheduler.resume()
        try:
            yield Rig(engine, sandbox, clock, recorder, settings), sandbox
        finally:
            await engine.close()


async def submit_like_a_user(rig: Rig, index: int, mode: Mode) -> tuple[int, int]:
    """Ask until accepted, as a person would after "please try again"; (job id, refusals)."""
    request = Request(f"fault-task-{index}", f"song-{index}", mode, 1, 2, 9000 + index)
    for refusals in range(50):
        try:
            # The free source check and CreateTask take places in the request rate.
            submission = await moving_time_for_places(
                rig.engine.service.submit(request), lambda: [rig.engine.rate],
                lambda s: rig.advance(s, step=s))
            return submission.job.id, refusals
        except ApiError as exc:
            # Only the free source check can fail here: the rate is on TaskInfo.
            assert exc.user_text in CLEAR_TEXTS, exc.user_text
    raise AssertionError(f"request {index} was refused 50 times")


async def settle_all(rig: Rig, job_ids: list[int], limit_s: float = 3600) -> float:
    """Advance fake time until every job ended and was delivered; return the seconds it took."""
    start = rig.clock.now
    while rig.clock.now - start < limit_s:
        await rig.advance(10, step=1.0)
        jobs = [await rig.engine.store.get(job_id) for job_id in job_ids]
        if all(job is not None and not job.is_open for job in jobs) and \
                await rig.engine.store.next_delivery_at() is None:
            return rig.clock.now - start
    raise AssertionError("jobs did not settle")


@pytest.mark.campaign
@pytest.mark.timeout(900)
async def test_taskinfo_faults_lose_nothing_repeat_no_create_and_keep_the_request_rate(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("STEMBOT_SEED", random.SystemRandom().randrange(1, 10**6)))
    print(f"\n[api-faults] seed {seed} (STEMBOT_SEED={seed} to replay)")
    async with open_rig(tmp_path, seed) as (rig, sandbox):
        sandbox.set_fault_rate("TaskInfo", FAULT_RATE, TASKINFO_FAULTS)
        guarantee_mix(sandbox, "TaskInfo", TASKINFO_FAULTS)  # the asserted set, whatever the seed
        for index in range(JOBS):
            sandbox.add_music_task(f"fault-task-{index}", [(f"song-{index}", "Song")])
        modes = [Mode.INSTRUMENTAL if i % 4 == 0 else Mode.VOCAL for i in range(JOBS)]
        submitted = [await submit_like_a_user(rig, i, mode) for i, mode in enumerate(modes)]
        job_ids = [job_id for job_id, _ in submitted]

        took_s = await settle_all(rig, job_ids)

        jobs = [await rig.engine.store.get(job_id) for job_id in job_ids]
        delivered = rig.recorder.delivered_job_ids()
        wire = [at for at, task_id in sandbox.task_info_at if task_id.startswith("sep-")]
        polls = sandbox.chosen_task_info("sep-")
        faults = sum(sandbox.faults_sent.values())
        print(f"[api-faults] {JOBS} jobs settled in {took_s:.0f} fake s; "
              f"{len(polls)} polls; faults {dict(sandbox.faults_sent)}; "
              f"refusals at submit {sum(r for _, r in submitted)}; "
              f"worst 1 s window: polls {worst_window(polls)}, on the wire {worst_window(wire)}, "
              f"all TaskInfo {worst_window([at for at, _ in sandbox.task_info_at])}; "
              f"silent resends after a reset {len(wire) - len(polls)}")
        lost = sum(1 for job in jobs if job is None or job.state != JobState.SUCCEEDED)
        lost += len(set(job_ids) - set(delivered))
        duplicates = len(delivered) - len(set(delivered))
        creates = sandbox.calls["CreateTask"]
        report(CampaignReport("api-faults", JOBS, faults, lost, duplicates,
                              max(0, creates - JOBS), str(seed)))

        assert faults >= JOBS * 0.5  # the campaign really did hit the faults
        assert set(sandbox.faults_sent) >= {"429", "455", "500", "500@200", "malformed"}
        assert (lost, duplicates) == (0, 0)
        assert creates == JOBS == len(sandbox.separations)
        assert worst_window(wire) <= rig.settings.api_requests_per_s  # as the API saw it
        assert len(wire) == len(polls)  # nothing resent behind the request rate's back
        for at, task_id, wait_s in sandbox.retry_after:
            if task_id.startswith("sep-"):  # the scheduler's own calls honour Retry-After
                assert not [t for t in wire if at < t < at + wait_s], (at, wait_s)
        subs = [s for job_id in job_ids for s in await rig.engine.store.subscriptions(job_id)]
        assert {s.delivery for s in subs} == {Delivery.CHANNEL}


CREATE_FAULTS = (
    (Fault("code", 402), _USER_TEXT[402]),
    (Fault("code", 500), UnconfirmedSubmission.TEXT),
    (Fault("code", 429, retry_after_s=2.0), _USER_TEXT[429]),
    (Fault("code", 455, http_status=200), _USER_TEXT[455]),
    (Fault("code", 422, message="suno_id not found in task"), REFUSED_TEXT),
    (Fault("code", 505), _USER_TEXT[505]),
    (Fault("reset"), UnconfirmedSubmission.TEXT),
    (Fault("malformed"), UnconfirmedSubmission.TEXT),
    (Fault("timeout", delay_s=2.0), UnconfirmedSubmission.TEXT),
)


async def test_a_failed_create_task_reaches_its_requester_as_a_clear_message_once(
    tmp_path: Path,
) -> None:
    async with open_rig(tmp_path, 1) as (rig, sandbox):
        texts = []
        for index, (fault, _) in enumerate(CREATE_FAULTS):
            sandbox.add_music_task(f"fault-task-{index}", [(f"song-{index}", "Song")])
            sandbox.inject("CreateTask", fault)
            request = Request(f"fault-task-{index}", f"song-{index}", Mode.VOCAL, 1, 2, 3)
            rig.clock.advance(1.0)  # the source check and CreateTask take places in the rate
            with pytest.raises(ApiError) as caught:
                await rig.engine.service.submit(request)
            texts.append(caught.value.user_text)
        await rig.advance(300, step=5.0)

        assert texts == [text for _, text in CREATE_FAULTS]
        assert not any(KEY in text or "crun API error" in text for text in texts)
        assert sandbox.calls["CreateTask"] == len(CREATE_FAULTS)  # none was resent
        jobs = await rig.engine.store.recent_jobs(limit=100)
        # Refusals fail; unconfirmed submissions are interrupted (a callback may adopt them).
        assert [j.state for j in reversed(jobs)] == [
            JobState.INTERRUPTED if text == UnconfirmedSubmission.TEXT else JobState.FAILED
            for _, text in CREATE_FAULTS
        ]
        assert rig.recorder.calls == []  # told in the command's reply, not told again later
        charged = await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger")
        assert charged == 4  # only the unconfirmed ones stay on the books


async def test_a_reset_status_check_is_sent_once_as_the_rate_counted_it(tmp_path: Path) -> None:
    async with open_rig(tmp_path, 2) as (rig, sandbox):
        sandbox.add_music_task("fault-task-0", [("song-0", "Song")])
        job_id, _ = await submit_like_a_user(rig, 0, Mode.VOCAL)
        sandbox.inject("TaskInfo", Fault("reset"))

        await rig.advance(30, step=1.0)  # the first status check is due at half a minute

        polls = [at for at, task_id in sandbox.task_info_at if task_id.startswith("sep-")]
        assert sandbox.resets  # the sandbox did cut the first check
        job = await rig.engine.store.get(job_id)
        assert job is not None and job.state == JobState.RUNNING
        assert len(polls) == 1  # one check taken from the request rate, one on the wire
