"""Per-server queries on a real SQLite file: rules, usage and spending, job pages, meta."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.guild_store import GuildStore
from bot.jobs import Job, JobState, Mode
from bot.rules import GuildRules, Period
from bot.store import JobStore
from tests._sandbox_fixtures import FakeClock

DAY_S = 24 * 3600.0


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[JobStore]:
    opened = await JobStore.open(tmp_path / "jobs.sqlite3", clock=clock)
    yield opened
    await opened.close()


async def new_job(
    store: JobStore, song: str, *, guild: int = 1, user: int = 3, credits: float = 1.0
) -> Job:
    return await store.create_job(
        music_task_id="t1", song_id=song, mode=Mode.VOCAL, song_title=f"Song {song}",
        guild_id=guild, channel_id=2, requester_id=user, callback_token=f"tok-{song}",
        estimated_credits=credits,
    )


async def test_rules_default_until_saved_and_are_read_back_from_the_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    mine = GuildRules(allowed_role_ids=(7,), daily_user_limit=2, budget_period=Period.DAY)
    first = await JobStore.open(tmp_path / "jobs.sqlite3", clock=clock)
    try:
        guilds = GuildStore(first)
        assert await guilds.rules(1) == GuildRules()
        await guilds.save_rules(1, mine)
        assert await guilds.rules(1) == mine
    finally:
        await first.close()

    reopened = await JobStore.open(tmp_path / "jobs.sqlite3", clock=clock)
    try:
        fresh = GuildStore(reopened)  # no cache: read from the file
        assert await fresh.rules(1) == mine
        assert await fresh.rules(2) == GuildRules()
    finally:
        await reopened.close()


async def test_usage_counts_one_requester_in_one_server(store: JobStore, clock: FakeClock) -> None:
    guilds, rules = GuildStore(store), GuildRules(budget_period=Period.DAY)
    running = await new_job(store, "a", credits=2.0)
    await store.move(running, JobState.RUNNING, remote_id="r1")
    await new_job(store, "b", credits=3.0)
    await new_job(store, "c", user=4, credits=5.0)  # another member: counts for the server
    await new_job(store, "d", guild=2, credits=100.0)  # another server: counts for nobody here

    usage = await guilds.usage(1, 3, rules, clock.now)

    assert (usage.user_jobs_today, usage.user_open_jobs) == (2, 2)
    assert usage.guild_spent == 10.0 and await guilds.spent(1, since=0) == 10.0
    assert usage.last_request_at == clock.now


async def test_a_new_day_starts_the_daily_count_but_open_jobs_still_count(
    store: JobStore, clock: FakeClock
) -> None:
    guilds, rules = GuildStore(store), GuildRules(budget_period=Period.DAY)
    await new_job(store, "a", credits=2.0)
    clock.advance(DAY_S)

    usage = await guilds.usage(1, 3, rules, clock.now)

    assert (usage.user_jobs_today, usage.user_open_jobs, usage.guild_spent) == (0, 1, 0.0)
    assert await guilds.spent(1, since=0) == 2.0


async def test_job_pages_are_newest_first_and_filtered_by_requester(store: JobStore) -> None:
    guilds = GuildStore(store)
    ids = [(await new_job(store, song, user=3 if song != "c" else 4)).id for song in "abcde"]

    page, total = await guilds.jobs_page(1, 3, offset=1, limit=2)
    everyone, all_total = await guilds.jobs_page(1, None, offset=0, limit=10)

    assert total == 4 and [j.id for j in page] == [ids[3], ids[1]]
    assert all_total == 5 and [j.id for j in everyone] == ids[::-1]
    assert await guilds.recent_music_tasks(1) == [("t1", "Song e")]
    assert await guilds.recent_music_tasks(2) == []


async def test_meta_is_written_once_per_key_and_overwritten(store: JobStore) -> None:
    guilds = GuildStore(store)
    assert await guilds.meta("commands") is None

    await guilds.set_meta("commands", "v1")
    await guilds.set_meta("commands", "v2")

    assert await guilds.meta("commands") == "v2"
