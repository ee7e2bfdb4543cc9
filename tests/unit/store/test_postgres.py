"""PostgreSQL's insides: migrations, refusals, and races between connections and processes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from bot.errors import UserError
from bot.jobs import Job, Mode
from bot.rules import GuildRules
from bot.store import StoreError
from bot.store.postgres import PgStore
from bot.store.postgres.schema import LATEST
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job
from tests.unit.store.conftest import database

Admit = Callable[[], Awaitable[None]]


@pytest.fixture
async def pg(fresh_pg: str, clock: FakeClock) -> AsyncIterator[PgStore]:
    opened = await PgStore.open(fresh_pg, clock=clock)
    yield opened
    await opened.close()


def record(store: PgStore, song: str, *, guild: int, user: int, admit: Admit) -> Awaitable[Job]:
    return store.create_job(
        music_task_id="t1", song_id=song, mode=Mode.VOCAL, song_title=None, guild_id=guild,
        channel_id=2, requester_id=user, callback_token=None, estimated_credits=1.0,
        admit=admit,
    )


async def someone_waits_on_a_lock(dsn: str, timeout_s: float = 10.0) -> bool:
    """True once a backend of this database waits on a row or transaction lock."""
    watcher = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(timeout_s):
            while True:  # the server offers no event for this: ask it until it says so
                if await watcher.fetchval(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ):
                    return True
                await asyncio.sleep(0.01)
    except TimeoutError:
        return False
    finally:
        await watcher.close()


async def test_a_newer_schema_is_refused_rather_than_touched(fresh_pg: str) -> None:
    connection = await asyncpg.connect(fresh_pg)
    await connection.execute("INSERT INTO schema_version VALUES (99)")
    await connection.close()

    with pytest.raises(StoreError, match="newer than this stembot knows"):
        await PgStore.open(fresh_pg)


async def test_an_unreachable_database_is_refused_without_showing_its_password() -> None:
    with pytest.raises(StoreError, match="cannot open the database") as refused:
        await PgStore.open("postgresql://bot:hunter2@127.0.0.1:1/stembot")

    assert "hunter2" not in str(refused.value)


async def test_two_processes_starting_on_an_empty_database_migrate_it_once(
    postgres_url: str,
) -> None:
    name = f"empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        stores = await asyncio.gather(*(PgStore.open(database(postgres_url, name))
                                        for _ in range(2)))
        versions = await stores[0].scalar("SELECT array_agg(version) FROM schema_version")
        for store in stores:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()

    assert versions == list(range(1, LATEST + 1))


async def test_the_limit_step_reads_usage_on_its_own_transaction(
    fresh_pg: str, clock: FakeClock
) -> None:
    # One pooled connection: a read that took another one would wait for ever.
    store = await PgStore.open(fresh_pg, clock=clock, pool_size=1)
    seen: list[int] = []

    async def admit() -> None:
        seen.append((await store.usage(1, 3, GuildRules(), clock.now)).user_jobs_today)

    try:
        await new_job(store, "a")
        await asyncio.wait_for(record(store, "b", guild=1, user=3, admit=admit), 10)
    finally:
        await store.close()

    assert seen == [1]


async def test_two_members_racing_for_the_last_credit_get_one_paid_job(
    pg: PgStore, fresh_pg: str, clock: FakeClock
) -> None:
    first_checked = asyncio.Event()

    def limit(name: str) -> Admit:
        async def admit() -> None:  # one credit left in the server's budget
            if (await pg.usage(1, 0, GuildRules(), clock.now)).guild_spent + 1.0 > 1.0:
                raise UserError("the server's budget is spent")
            if name == "first":  # hold the transaction until the second request queues
                first_checked.set()
                await someone_waits_on_a_lock(fresh_pg)
        return admit

    async def second() -> Job:
        await first_checked.wait()
        return await record(pg, "s2", guild=1, user=4, admit=limit("second"))

    results = await asyncio.gather(
        record(pg, "s1", guild=1, user=3, admit=limit("first")), second(),
        return_exceptions=True)

    assert [type(r) for r in results] == [Job, UserError]
    assert await pg.credits_total() == 1.0 and len(await pg.recent_jobs()) == 1


async def test_two_processes_taking_the_same_song_at_once_record_one_job(
    fresh_pg: str, clock: FakeClock
) -> None:
    stores = [await PgStore.open(fresh_pg, clock=clock) for _ in range(2)]
    inside = [asyncio.Event(), asyncio.Event()]

    def meet(me: int) -> Admit:
        async def admit() -> None:  # both past their checks, both about to write
            inside[me].set()
            await inside[1 - me].wait()
        return admit

    try:
        results = await asyncio.gather(
            *(record(stores[i], "same", guild=10 + i, user=3, admit=meet(i)) for i in (0, 1)),
            return_exceptions=True)
        jobs = await stores[0].recent_jobs()
    finally:
        for store in stores:
            await store.close()

    assert sorted(type(r).__name__ for r in results) == ["Job", "StoreError"]
    assert len(jobs) == 1


async def test_two_processes_claiming_at_once_never_hold_the_same_job(
    fresh_pg: str, clock: FakeClock
) -> None:
    stores = [await PgStore.open(fresh_pg, clock=clock) for _ in range(2)]
    try:
        ids = {(await new_job(stores[0], f"s{i}")).id for i in range(40)}
        held: dict[str, list[int]] = {"p0": [], "p1": []}

        async def claim_all(owner: str, store: PgStore) -> None:
            while claimed := await store.claim_due_jobs(owner, 15.0, limit=3):
                held[owner] += [j.id for j in claimed if j.id not in held[owner]]
                if len(held["p0"]) + len(held["p1"]) >= len(ids):
                    return

        await asyncio.gather(claim_all("p0", stores[0]), claim_all("p1", stores[1]))
    finally:
        for store in stores:
            await store.close()

    assert not set(held["p0"]) & set(held["p1"])
    assert set(held["p0"]) | set(held["p1"]) == ids
    assert held["p0"] and held["p1"]  # both took part


async def test_a_job_is_leased_to_the_process_that_creates_it_while_it_is_submitted(
    fresh_pg: str, clock: FakeClock
) -> None:
    creator = await PgStore.open(fresh_pg, clock=clock, lease=("p1", 15.0))
    other = await PgStore.open(fresh_pg, clock=clock)
    try:
        job = await new_job(creator)
        taken_while_alive = await other.claim_due_jobs("p2", 15.0)
        held = await creator.renew_held_leases("p1", 15.0)
        clock.advance(16)  # the creator died mid-submission: its lease lapses
        taken_after = await other.claim_due_jobs("p2", 15.0)
    finally:
        await creator.close()
        await other.close()

    assert taken_while_alive == [] and held == [job.id]
    assert [j.id for j in taken_after] == [job.id]


async def test_a_wake_notified_by_one_process_reaches_a_listener_in_another(
    fresh_pg: str, clock: FakeClock
) -> None:
    stores = [await PgStore.open(fresh_pg, clock=clock) for _ in range(2)]
    woken: list[int] = []
    arrived = asyncio.Event()

    def listener(job_id: int) -> None:
        woken.append(job_id)
        arrived.set()

    try:
        await stores[1].listen_wakes(listener)
        await stores[0].notify_wake(7)
        async with asyncio.timeout(10):
            await arrived.wait()
    finally:
        for store in stores:
            await store.close()

    assert woken == [7]
