"""Several processes share one PostgreSQL job table: each job polled by one lease holder,
delivered once, charged once; the request budget is global; a dead process's jobs are taken
over; a rolling restart loses nothing; a callback at any process wakes the job where it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.delivery import Delivered
from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.sandbox import SandboxServer
from bot.scheduler.shared import BUDGET_EVERY_S, CLAIM_EVERY_S
from bot.store.postgres import PgStore
from bot.web import WebServer
from tests._sandbox_fixtures import FakeClock
from tests.unit.scheduler._fleet import LEASE_S, REQUESTS_PER_S, Fleet

JOBS = 60
NAMES = ("p0", "p1", "p2")


@pytest.fixture
async def fleet(
    tmp_path: Path, fresh_postgres_url: str, clock: FakeClock, sandbox_server: SandboxServer
) -> AsyncIterator[Fleet]:
    fleet = Fleet(fresh_postgres_url, sandbox_server.base_url, sandbox_server.sandbox, clock,
                  tmp_path)
    for name in NAMES:
        await fleet.open(name)
    try:
        yield fleet
    finally:
        for name in list(fleet.engines):
            await fleet.close(name)


async def charged_twice(fleet: Fleet) -> int:
    store = next(iter(fleet.engines.values())).store
    assert isinstance(store, PgStore)
    return int(await store.scalar(
        "SELECT count(*) FROM (SELECT job_id FROM ledger GROUP BY job_id"
        " HAVING count(*) > 1) AS twice"))


async def assert_all_done_once(fleet: Fleet, ids: list[int]) -> None:
    assert await fleet.states(ids) == {JobState.SUCCEEDED: len(ids)}  # 0 lost
    assert fleet.deliveries() == {job_id: 1 for job_id in ids}  # delivered exactly once
    assert fleet.sandbox.calls["CreateTask"] == len(ids)  # sent once per job, never resent
    assert await charged_twice(fleet) == 0
    assert fleet.overlapping_polls() == []  # no job polled by two processes at once
    assert fleet.worst_second() <= REQUESTS_PER_S  # the budget is global


async def test_jobs_spread_over_three_processes_are_each_polled_by_one_and_done_once(
    fleet: Fleet,
) -> None:
    ids = await fleet.submit_spread(JOBS)
    await fleet.until_all_end(ids)

    await assert_all_done_once(fleet, ids)
    assert {name for _, name, _ in fleet.polls} == set(NAMES)  # all three did work
    assert all(e.scheduler.shared and e.scheduler.shared.share == pytest.approx(1 / 3)
               for e in fleet.engines.values())


async def test_a_dead_processs_jobs_are_taken_over_within_a_lease_and_a_poll(
    fleet: Fleet,
) -> None:
    ids = await fleet.submit_spread(JOBS)
    await fleet.advance(5)
    orphans = set(fleet.engines["p1"].scheduler.tracked_ids())
    await fleet.kill("p1")
    await fleet.advance(LEASE_S + CLAIM_EVERY_S + 0.5)  # its leases lapse; a claim pass runs

    survivors = [fleet.engines[name].scheduler for name in ("p0", "p2")]
    taken = survivors[0].tracked_ids() | survivors[1].tracked_ids()
    assert orphans and orphans <= taken  # every orphan is polled by a survivor from now on
    await fleet.until_all_end(ids)
    await assert_all_done_once(fleet, ids)


async def test_a_rolling_restart_loses_and_repeats_nothing(fleet: Fleet) -> None:
    ids = await fleet.submit_spread(JOBS)
    for name in NAMES:
        await fleet.advance(4)
        await fleet.close(name)
        await fleet.advance(2)
        await fleet.open(name)
    await fleet.until_all_end(ids)

    await assert_all_done_once(fleet, ids)


async def test_a_callback_at_one_process_wakes_the_job_where_it_is_leased(
    fleet: Fleet,
) -> None:
    [job_id] = await fleet.submit_spread(1)  # asked for at p0: p0 holds its lease
    holder, other = fleet.engines["p0"], fleet.engines["p1"]
    await fleet.advance(BUDGET_EVERY_S + 1.5)  # its first checks are done
    await fleet.settle()  # whatever is due now is done: nothing more polls at this moment
    job = await holder.store.get(job_id)
    assert job is not None and job.callback_token is not None
    polls_before = len(fleet.polls)
    heard = asyncio.Event()
    await holder.store.listen_wakes(lambda _job_id: heard.set())
    web = WebServer(other, lambda: True)
    await web.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{web.port}/callbacks/{job.callback_token}"
            async with http.post(url, json={"task_id": job.remote_id}) as reply:
                assert reply.status == 200
        async with asyncio.timeout(10):
            await heard.wait()
    finally:
        await web.close()
    await fleet.settle()  # no time passes: the poll happens because of the wake

    assert [name for _, name, _ in fleet.polls[polls_before:]] == ["p0"]


async def test_a_result_two_processes_find_due_at_once_is_posted_by_one(fleet: Fleet) -> None:
    for engine in fleet.engines.values():
        engine.attach_poster(None)  # the job ends with nobody to post it yet
    [job_id] = await fleet.submit_spread(1)
    await fleet.until_all_end([job_id])
    gate, posting, first = asyncio.Event(), asyncio.Event(), fleet.engines["p0"]
    posted_by_first: list[int] = []

    async def slow(job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        posted_by_first.append(job.id)
        posting.set()
        await gate.wait()  # still posting when the other process looks
        return {sub.id: Delivered(Delivery.CHANNEL, message_id=1) for sub in subs}

    first.attach_poster(slow)
    await first.scheduler.run_once()  # claims the requester, starts posting
    async with asyncio.timeout(10):
        await posting.wait()
    second = fleet.engines["p1"]
    second.attach_poster(fleet.recorders["p1"])
    await second.scheduler.run_once()
    await second.scheduler.drain()
    gate.set()
    await first.scheduler.drain()

    assert posted_by_first == [job_id] and fleet.recorders["p1"].calls == []


async def test_health_and_metrics_name_this_processs_shards_leases_and_budget_share(
    fleet: Fleet,
) -> None:
    await fleet.submit_spread(6)  # two asked for at each process: each leases its own
    await fleet.advance(1.5)
    engine = fleet.engines["p2"]
    web = WebServer(engine, lambda: True, lambda: [2])
    await web.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{web.port}/healthz") as reply:
                health = await reply.json()
            async with http.get(f"http://127.0.0.1:{web.port}/metrics") as reply:
                text = await reply.text()
    finally:
        await web.close()

    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert (health["database"], health["process"], health["shards"]) == (True, "p2", [2])
    assert health["leases"] == 2 == samples["stembot_leases_held"]
    assert samples["stembot_request_budget_share"] == pytest.approx(1 / 3)


async def test_a_submission_is_ended_only_when_its_submitter_is_gone(fleet: Fleet) -> None:
    async def recorded_at(name: str, song: str) -> int:  # as if the CreateTask call hung
        job = await fleet.engines[name].store.create_job(
            music_task_id="t1", song_id=song, mode=Mode.VOCAL, song_title=None, guild_id=1,
            channel_id=2, requester_id=3, callback_token=None, estimated_credits=1.0)
        return job.id

    alive, dead = await recorded_at("p0", "a"), await recorded_at("p1", "b")
    await fleet.kill("p1")
    await fleet.advance(2 * LEASE_S)

    assert await fleet.states([alive]) == {JobState.SUBMITTING: 1}  # p0 renews it: untouched
    assert await fleet.states([dead]) == {JobState.INTERRUPTED: 1}  # never resent
    assert fleet.sandbox.calls["CreateTask"] == 0


async def test_a_process_back_under_its_name_within_the_lease_resumes_its_own_jobs(
    fleet: Fleet,
) -> None:
    ids = await fleet.submit_spread(JOBS)
    await fleet.advance(3)
    orphans = set(fleet.engines["p1"].scheduler.tracked_ids())
    await fleet.kill("p1")
    back = await fleet.open("p1")  # restarted at once: its leases have not lapsed

    assert orphans and back.scheduler.tracked_ids() == orphans
    await fleet.until_all_end(ids)
    await assert_all_done_once(fleet, ids)


async def test_a_clean_stop_hands_over_even_a_job_created_since_the_last_renewal(
    fleet: Fleet,
) -> None:
    [job_id] = await fleet.submit_spread(1)  # asked for at p0, leased to it from the start
    await fleet.close("p0")
    await fleet.advance(CLAIM_EVERY_S + 0.5)  # far within LEASE_S

    taken = [name for name, e in fleet.engines.items() if job_id in e.scheduler.tracked_ids()]
    assert len(taken) == 1
