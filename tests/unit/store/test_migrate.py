"""`stembot migrate-db`: an SQLite database copied into an empty PostgreSQL one, and checked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.config import Settings
from bot.jobs import Delivery, JobState
from bot.ops import migrate_db
from bot.rules import GuildRules, Period
from bot.store import JobStore, Store, StoreError
from bot.store.postgres import PgStore
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job


async def _fill(store: Store) -> list[int]:
    """Jobs in several states, a second requester, a delivered result, a refund, rules, meta;
    the readers' languages, an ending's detail, public status messages (issue 12's columns)."""
    running = await store.move(await new_job(store, "a", locale="pt-BR"), JobState.RUNNING,
                               remote_id="r1")
    await store.subscribe(running, user_id=4, guild_id=1, channel_id=2, locale="ja")
    await store.set_status_message(running.id, 3, channel_id=2, message_id=2**61)
    await store.set_status_message(running.id, 4, channel_id=2, message_id=5)
    await store.status_shown_final(running.id, message_id=5)  # copied as shown: not listed
    done = await store.move(await new_job(store, "b", credits=2.0), JobState.RUNNING,
                            remote_id="r2")
    done = await store.move(done, JobState.SUCCEEDED, credits=1.5)
    [sub] = await store.subscriptions(done.id)
    await store.record_delivery(sub, Delivery.CHANNEL, message_id=2**60)
    await store.move(await new_job(store, "c"), JobState.FAILED, error="refused:402",
                     error_detail="no credits left", refund=True)
    await store.save_guild_rules(1, GuildRules(daily_user_limit=3, budget_period=Period.DAY))
    await store.set_meta("commands", "v7")
    return [j.id for j in await store.recent_jobs()]


@pytest.fixture
async def source(tmp_path: Path, clock: FakeClock) -> tuple[Settings, list[int]]:
    settings = Settings(database_path=tmp_path / "jobs.sqlite3")
    store = await JobStore.open(settings.database_path, clock=clock)
    try:
        ids = await _fill(store)
    finally:
        await store.close()
    return settings, ids


async def _view(store: Store, ids: list[int]) -> list[object]:
    """Everything the bot reads back, through the interface."""
    return [
        [await store.get(i) for i in ids], [await store.subscriptions(i) for i in ids],
        await store.credits_total(), await store.spent(1, since=0), await store.guild_rules(1),
        await store.meta("commands"), await store.count_by_state(),
        await store.status_messages(),
    ]


async def test_every_row_is_copied_and_reads_back_the_same(
    source: tuple[Settings, list[int]], fresh_pg: str, clock: FakeClock
) -> None:
    settings, ids = source
    out = io.StringIO()

    assert await migrate_db(settings, fresh_pg, out=out) == 0

    before = await JobStore.open(settings.database_path, clock=clock)
    after = await PgStore.open(fresh_pg, clock=clock)
    try:
        assert await _view(after, ids) == await _view(before, ids)
        copied = [await after.get(i) for i in ids]  # the new columns, not only equal: there
        endings = [(j.error, j.error_detail) for j in copied if j]
        assert ("refused:402", "no credits left") in endings
        locales = {s.user_id: s.locale for i in ids for s in await after.subscriptions(i)}
        assert locales[4] == "ja" and "pt-BR" in locales.values()
        assert [m.message_id for m in await after.status_messages()] == [2**61]
        newer = await new_job(after, "d")  # ids go on after the copied ones
        assert newer.id == max(ids) + 1
    finally:
        await before.close()
        await after.close()
    assert "copied        3 jobs" in out.getvalue()
    assert "copied        4 subscriptions" in out.getvalue()
    assert "row counts match" in out.getvalue()


async def test_a_target_holding_data_is_refused_and_left_as_it_was(
    source: tuple[Settings, list[int]], fresh_pg: str
) -> None:
    settings, _ = source
    await migrate_db(settings, fresh_pg, out=io.StringIO())

    with pytest.raises(StoreError, match=r"not empty \(3 jobs, 4 subscriptions"):
        await migrate_db(settings, fresh_pg, out=io.StringIO())

    store = await PgStore.open(fresh_pg)
    try:
        assert len(await store.recent_jobs()) == 3
    finally:
        await store.close()


async def test_a_source_a_running_bot_holds_is_refused(
    source: tuple[Settings, list[int]], fresh_pg: str
) -> None:
    settings, _ = source
    bot = await JobStore.open(settings.database_path)
    try:
        with pytest.raises(StoreError, match="already running"):
            await migrate_db(settings, fresh_pg, out=io.StringIO())
    finally:
        await bot.close()
