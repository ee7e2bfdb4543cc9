"""Per-server data through the store interface: rules, usage and spending, job pages, meta."""

from __future__ import annotations

from bot.jobs import JobState
from bot.rules import GuildRules, Period
from bot.store import GuildStore, Store
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job
from tests.unit.store.conftest import Reopen

DAY_S = 24 * 3600.0
async def test_rules_default_until_saved_and_are_read_back_after_a_restart(
    reopen: Reopen,
) -> None:
    mine = GuildRules(allowed_role_ids=(7,), daily_user_limit=2, budget_period=Period.DAY)
    guilds = GuildStore(await reopen())
    assert await guilds.rules(1) == GuildRules()
    await guilds.save_rules(1, mine)
    assert await guilds.rules(1) == mine

    fresh = GuildStore(await reopen())  # no cache: read from the database

    assert await fresh.rules(1) == mine
    assert await fresh.rules(2) == GuildRules()


async def test_usage_counts_one_requester_in_one_server(store: Store, clock: FakeClock) -> None:
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
    store: Store, clock: FakeClock
) -> None:
    guilds, rules = GuildStore(store), GuildRules(budget_period=Period.DAY)
    await new_job(store, "a", credits=2.0)
    clock.advance(DAY_S)

    usage = await guilds.usage(1, 3, rules, clock.now)

    assert (usage.user_jobs_today, usage.user_open_jobs, usage.guild_spent) == (0, 1, 0.0)
    assert await guilds.spent(1, since=0) == 2.0


async def test_job_pages_are_newest_first_and_filtered_by_requester(store: Store) -> None:
    guilds = GuildStore(store)
    ids = [(await new_job(store, song, user=3 if song != "c" else 4)).id for song in "abcde"]

    page, total = await guilds.jobs_page(1, 3, offset=1, limit=2)
    everyone, all_total = await guilds.jobs_page(1, None, offset=0, limit=10)

    assert total == 4 and [j.id for j in page] == [ids[3], ids[1]]
    assert all_total == 5 and [j.id for j in everyone] == ids[::-1]
    assert await guilds.recent_music_tasks(1) == [("t1", "Song e")]
    assert await guilds.recent_music_tasks(2) == []


async def test_meta_is_written_once_per_key_and_overwritten(store: Store) -> None:
    guilds = GuildStore(store)
    assert await guilds.meta("commands") is None

    await guilds.set_meta("commands", "v1")
    await guilds.set_meta("commands", "v2")

    assert await guilds.meta("commands") == "v2"
