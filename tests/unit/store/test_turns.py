"""Whose store work goes first: a member's command before the bot's background work, on the
SQLite writer's turns and on PostgreSQL's pool."""

from __future__ import annotations

import asyncio

from bot.jobs import Mode
from bot.store import JobStore, Store
from bot.store.postgres.db import RESERVED_FOR_MEMBERS
from bot.store.turns import Turns, for_a_member, interactive, is_interactive
from tests.unit.store._make import new_job

POOL_SIZE = 10  # PgStore.open's default, as open_store uses it


async def _queue(turns: Turns, name: str, order: list[str], *, member: bool) -> None:
    if member:
        with interactive():
            async with turns.turn():
                order.append(name)
    else:
        async with turns.turn():
            order.append(name)


async def test_a_waiting_member_goes_before_waiting_background_work() -> None:
    turns, order = Turns(), list[str]()
    async with turns.turn():  # background work holds the writer
        waiters = [asyncio.create_task(_queue(turns, f"poll-{i}", order, member=False))
                   for i in range(3)]
        waiters.append(asyncio.create_task(_queue(turns, "member", order, member=True)))
        await asyncio.sleep(0)  # every waiter reaches the queue (no timing: one loop pass)
    await asyncio.gather(*waiters)

    assert order == ["member", "poll-0", "poll-1", "poll-2"]


async def test_a_waiter_cancelled_as_its_turn_came_passes_the_turn_on() -> None:
    turns, order = Turns(), list[str]()
    async with turns.turn():
        first = asyncio.create_task(_queue(turns, "first", order, member=False))
        second = asyncio.create_task(_queue(turns, "second", order, member=False))
        await asyncio.sleep(0)
    first.cancel()  # its turn was handed to it on release; it is cancelled before it runs
    await asyncio.gather(first, second, return_exceptions=True)

    assert order == ["second"] and first.cancelled()
    async with turns.turn():  # and the turn is free again
        order.append("after")
    assert order == ["second", "after"]


async def test_member_work_is_marked_only_inside_it() -> None:
    @for_a_member
    async def command() -> bool:
        return is_interactive()

    assert await command() is True
    assert is_interactive() is False


async def test_a_member_reads_while_background_work_holds_its_share_of_the_store(
    store: Store,
) -> None:
    job = await new_job(store, "earlier")
    # Background work may hold one writer (SQLite) or its share of the pool (PostgreSQL).
    share = 1 if isinstance(store, JobStore) else POOL_SIZE - RESERVED_FOR_MEMBERS
    inside, release = asyncio.Semaphore(0), asyncio.Event()

    async def hold() -> None:
        inside.release()
        await release.wait()

    background = [asyncio.create_task(store.create_job(  # more than the pool: all held open
        music_task_id="t1", song_id=f"held-{i}", mode=Mode.VOCAL, song_title=None,
        guild_id=100 + i, channel_id=2, requester_id=3, callback_token=None,  # a server each
        estimated_credits=1.0, admit=hold,
    )) for i in range(POOL_SIZE + 2)]
    for _ in range(share):
        await inside.acquire()
    try:
        with interactive():  # without a reserved connection this would wait for ever
            read = await asyncio.wait_for(store.get(job.id), 30)
            page, total = await asyncio.wait_for(store.jobs_page(1, 3, offset=0, limit=5), 30)
        answered_while_held = not any(task.done() for task in background)
    finally:
        release.set()
    await asyncio.gather(*background)

    assert answered_while_held
    assert read == job and ([j.id for j in page], total) == ([job.id], 1)
