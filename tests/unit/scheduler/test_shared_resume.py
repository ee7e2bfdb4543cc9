"""A process back under its name reads the jobs still leased to it in one pass: bench.fleet_large
found one read per job (33,000 jobs: 14 s alone, 28 s with three processes starting, longer than
LEASE_S, so the leases renewed at the start of the resume lapsed before it ended)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Job, JobState
from bot.rate import RequestRate
from bot.sandbox import SandboxServer
from bot.scheduler import shared as shared_work
from bot.scheduler.shared import SharedWork
from bot.store.postgres import PgStore
from tests._sandbox_fixtures import FakeClock
from tests.unit.scheduler._fleet import LEASE_S, REQUESTS_PER_S, Fleet


async def test_a_process_back_under_its_name_reads_its_leased_jobs_in_one_pass_not_one_per_job(
    tmp_path: Path, fresh_postgres_url: str, clock: FakeClock, sandbox_server: SandboxServer,
) -> None:
    fleet = Fleet(fresh_postgres_url, sandbox_server.base_url, sandbox_server.sandbox, clock,
                  tmp_path)
    for name in ("p0", "p1"):
        await fleet.open(name)
    await fleet.submit_spread(12)
    await fleet.advance(3)
    orphans = set(fleet.engines["p1"].scheduler.tracked_ids())
    await fleet.kill("p1")
    store = await PgStore.open(fresh_postgres_url, clock=clock)
    reads: list[int] = []
    get = store.get

    async def counted(job_id: int) -> Job | None:
        reads.append(job_id)
        return await get(job_id)

    store.get = counted  # type: ignore[method-assign]
    try:
        shared = SharedWork(store, "p1", LEASE_S, RequestRate(REQUESTS_PER_S, clock),
                            REQUESTS_PER_S, clock)
        resumed = await shared.start()
    finally:
        await store.close()
        await fleet.close("p0")

    assert len(orphans) == 6 and {job.id for job in resumed} == orphans
    assert [job.id for job in resumed] == sorted(orphans)
    assert reads == []  # one read of the open jobs, not a get() per leased job


async def test_a_dead_processs_jobs_are_claimed_in_quick_batches_not_one_batch_a_second(
    tmp_path: Path, fresh_postgres_url: str, clock: FakeClock, sandbox_server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bench.failover: 3,334 orphans at 100 a second per survivor took 28 s to re-lease. A
    claim that comes back full is followed by another one soon after."""
    monkeypatch.setattr(shared_work, "CLAIM_LIMIT", 2)  # 12 orphans: 6 batches
    fleet = Fleet(fresh_postgres_url, sandbox_server.base_url, sandbox_server.sandbox, clock,
                  tmp_path)
    for name in ("p0", "p1"):
        await fleet.open(name)
    try:
        await fleet.submit_spread(24)
        await fleet.advance(3)
        orphans = set(fleet.engines["p1"].scheduler.tracked_ids())
        await fleet.kill("p1")
        await fleet.advance(LEASE_S + 1.0, step=shared_work.CLAIM_AGAIN_S)  # the leases lapse

        assert len(orphans) == 12  # one claim a second would have taken 6 s, not 1
        assert orphans <= fleet.engines["p0"].scheduler.tracked_ids()
    finally:
        await fleet.close("p0")


async def test_a_job_that_ends_during_a_renewal_is_not_reported_as_a_lost_lease(
    tmp_path: Path, fresh_postgres_url: str, clock: FakeClock, sandbox_server: SandboxServer,
) -> None:
    """bench.store_bench logged "lost the leases of jobs [801, …]": jobs that had just ended."""
    fleet = Fleet(fresh_postgres_url, sandbox_server.base_url, sandbox_server.sandbox, clock,
                  tmp_path)
    engine = await fleet.open("p0")
    try:
        [job_id] = await fleet.submit_spread(1)
        shared, tracked = engine.scheduler.shared, engine.scheduler.tracked_ids()
        assert shared is not None and tracked == {job_id}
        heartbeat = engine.store.heartbeat

        async def the_job_ends_meanwhile(name: str) -> None:
            await heartbeat(name)
            job = await engine.store.get(job_id)
            assert job is not None
            await engine.store.move(job, JobState.FAILED, error="api_failed")

        engine.store.heartbeat = the_job_ends_meanwhile  # type: ignore[method-assign]
        clock.advance(LEASE_S)  # a renewal is due
        changes = await shared.tick(tracked)
    finally:
        await fleet.close("p0")

    assert changes.renewed and changes.lost == set()
