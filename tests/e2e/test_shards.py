"""Shards: two bots (two processes, in effect) split the guilds; the stand-in refuses as Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.ext import commands

from bot.bot import StemBot
from bot.database_url import DatabaseUrl
from bot.jobs import JobState
from bot.sandbox import Sandbox, serve
from tests.bot_world import SONG, TASK, world_settings
from tests.standin import Channel, DiscordStandin, Guild, User, running_bot
from tests.standin.gateway import INVALID_SHARD, SHARDING_REQUIRED


@dataclass
class Split:
    standin: DiscordStandin
    bots: list[StemBot]  # bots[n] runs shard n of 2
    guilds: list[Guild]  # guilds[n] lives on shard n
    channels: list[Channel]
    members: list[User]


@pytest.fixture
async def split(tmp_path: Path) -> AsyncIterator[Split]:
    async with DiscordStandin() as standin, await serve(Sandbox(duration_s=lambda m: 3600)) as api:
        guilds = [standin.add_guild(f"guild {n}", shard=(n, 2)) for n in (0, 1)]
        channels = [standin.add_channel(g, "music") for g in guilds]
        members = [standin.add_member(g, f"member {n}") for n, g in enumerate(guilds)]
        async with AsyncExitStack() as running:
            bots = []
            for n in (0, 1):
                # A database each: the shared PostgreSQL store comes with issue 11's round 2.
                # Each syncs its commands to its own guild (as a dev guild) to keep this short.
                settings = world_settings(tmp_path / f"shard{n}.sqlite3", api.base_url, standin,
                                          guilds[n], shard_ids=(n,), shard_count=2)
                bot = StemBot(settings)
                bots.append(await running.enter_async_context(running_bot(bot, standin)))
            yield Split(standin, bots, guilds, channels, members)


async def test_each_process_sees_only_the_guilds_of_its_shard(split: Split) -> None:
    gateway = split.standin.gateway
    # Ready once every shard's guilds arrived (discord.py waits 2 s after the last one).
    await asyncio.wait_for(asyncio.gather(*(b.wait_until_ready() for b in split.bots)), 10)

    assert sorted(gateway.sessions) == [0, 1] and gateway.shard_count == 2
    for n, bot in enumerate(split.bots):
        assert bot.shard_ids == [n] and bot.shard_count == 2
        assert [g.id for g in bot.guilds] == [split.guilds[n].id]
        assert bot.get_guild(split.guilds[1 - n].id) is None
    assert split.standin.errors == []


async def test_a_command_in_each_guild_is_answered_by_the_process_holding_its_shard(
    split: Split,
) -> None:
    options = {"task_id": TASK, "suno_id": SONG}
    asked = [
        await split.standin.invoke(split.guilds[n], split.channels[n], split.members[n],
                                   "stems separate", options)
        for n in (0, 1)
    ]

    for interaction in asked:
        await interaction.wait_reply(lambda m: bool(m.embeds), timeout_s=10)
    for n, bot in enumerate(split.bots):
        jobs = await bot.engine.store.recent_jobs()
        assert [(j.guild_id, j.requester_id) for j in jobs] == [
            (split.guilds[n].id, split.members[n].id)
        ]
        sent = split.standin.gateway.sessions[n].sent
        routed = [f["d"]["guild_id"] for f in sent if f["t"] == "INTERACTION_CREATE"]
        assert routed == [str(split.guilds[n].id)]
    assert split.standin.errors == []


def sharded_client(
    shard_ids: list[int] | None, shard_count: int | None
) -> commands.AutoShardedBot:
    options: dict[str, Any] = {} if shard_ids is None else {"shard_ids": shard_ids}
    return commands.AutoShardedBot(command_prefix="!", intents=discord.Intents.default(),
                                   shard_count=shard_count, guild_ready_timeout=0.05, **options)


async def refused_code(standin: DiscordStandin, client: commands.AutoShardedBot) -> int:
    """The close code that ends the client's connect(): discord.py gives up on these codes."""
    with standin.patch_discord():
        await client.login(standin.token)
        try:
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(client.connect(reconnect=True), 10)
        finally:
            await client.close()
    return closed.value.code


async def test_a_shard_id_beyond_the_count_is_refused_as_invalid() -> None:
    async with DiscordStandin() as standin:
        standin.add_guild()

        code = await refused_code(standin, sharded_client([2], 2))

    assert code == INVALID_SHARD and standin.gateway.refusals == [INVALID_SHARD]


async def test_the_same_shard_twice_is_refused_and_the_first_keeps_running(
    split: Split,
) -> None:
    code = await refused_code(split.standin, sharded_client([1], 2))

    assert code == INVALID_SHARD
    assert split.standin.gateway.sessions[1].connection is not None
    assert split.bots[1].gateway_connected()


async def test_a_shard_count_other_than_the_running_one_is_refused(split: Split) -> None:
    code = await refused_code(split.standin, sharded_client([0], 3))

    assert code == INVALID_SHARD


async def test_too_many_guilds_on_one_shard_is_refused_as_sharding_required() -> None:
    async with DiscordStandin() as standin:
        standin.max_guilds_per_shard = 1
        standin.add_guild("one")
        standin.add_guild("two")

        code = await refused_code(standin, sharded_client(None, None))

    assert code == SHARDING_REQUIRED


async def test_without_shard_settings_the_bot_runs_the_shards_discord_advises() -> None:
    async with DiscordStandin() as standin:
        standin.recommended_shards = 2
        guilds = [standin.add_guild(f"guild {n}", shard=(n, 2)) for n in (0, 1)]

        async with running_bot(sharded_client(None, None), standin) as client:
            await asyncio.wait_for(client.wait_until_ready(), 5)
            seen = sorted(g.id for g in client.guilds)
            shards = sorted(standin.gateway.sessions)

    assert shards == [0, 1]
    assert seen == sorted(g.id for g in guilds)


async def test_a_job_whose_process_stopped_is_finished_and_posted_by_the_other_process(
    tmp_path: Path, fresh_postgres_url: str,
) -> None:
    async with DiscordStandin() as standin, await serve(Sandbox(duration_s=lambda m: 3600)) as api:
        guilds = [standin.add_guild(f"guild {n}", shard=(n, 2)) for n in (0, 1)]
        channel = standin.add_channel(guilds[0], "music")
        member = standin.add_member(guilds[0], "member")
        bots = [StemBot(world_settings(
            tmp_path / "unused.sqlite3", api.base_url, standin, guilds[n], shard_ids=(n,),
            shard_count=2, database_url=DatabaseUrl(fresh_postgres_url),
            process_name=f"shard-{n}", lease_s=1.0)) for n in (0, 1)]
        async with running_bot(bots[1], standin):
            async with running_bot(bots[0], standin):
                asked = await standin.invoke(guilds[0], channel, member, "stems separate",
                                             {"task_id": TASK, "suno_id": SONG})
                await asked.wait_reply(lambda m: bool(m.embeds), timeout_s=10)
                [job] = await bots[0].engine.store.recent_jobs()
            # shard 0's process is gone (its leases given back); the job ends meanwhile
            assert job.remote_id is not None
            api.sandbox.finish(job.remote_id)
            posted = await standin.wait_message(
                lambda m: m.channel_id == channel.id and m.interaction_id is None, timeout_s=30)
            ended = await bots[1].engine.store.get(job.id)

    assert ended is not None and ended.state == JobState.SUCCEEDED
    assert [m for m in standin.channel_messages(channel) if m.interaction_id is None] == [posted]
