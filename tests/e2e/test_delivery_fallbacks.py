"""Delivery has a fallback for every answer Discord gives; results ping the requesters only."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import discord
import pytest

import bot.api.client
import bot.api.taskinfo
from bot.api.taskinfo import Separation
from bot.jobs import Delivery, Stem
from tests.bot_world import SLOW_S, World, bot_world, loaded

TASK = "mention-task"


def channel_posts(world: World) -> str:
    return f"POST /channels/{world.channel.id}/messages"


async def accepted(world: World, user: Any = None, song: str = "demo-song-1",
                   task: str = "demo-music-task") -> int:
    interaction = await world.separate(user or world.alice, task=task, song=song)
    status = await interaction.wait_reply(lambda m: bool(m.embeds))
    return int(status.text.split("`#")[1].split("`")[0])


@pytest.mark.parametrize("refusals", [1, 2])
async def test_a_refused_result_post_is_sent_again_simpler_not_unchanged(
    tmp_path: Path, refusals: int
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)
        world.standin.refuse_next(channel_posts(world), status=400, count=refusals)

        world.sandbox.finish(await world.remote_id(job_id))
        told = await world.result()
        await world.settle()

        bodies = world.standin.posted_bodies(world.channel)
        assert len(bodies) == refusals + 1
        assert bodies[0].get("components") and bodies[0].get("embeds")
        if refusals == 1:  # without components: the embed keeps the links
            assert not told.components and told.embeds
            assert "[download](http" in told.text
        else:  # plain text with the links
            assert not told.components and not told.embeds
            assert "your stems are ready" in told.content
            assert told.content.count("[download](http") == 2
        assert told.pinged_user_ids == {world.alice.id}
        [sub] = await world.subscriptions(job_id)
        assert (sub.delivery, sub.message_id, sub.attempts) == (Delivery.CHANNEL, told.id, 1)
        assert len(world.posted()) == 1


async def test_odd_stem_urls_are_percent_encoded_and_a_non_web_link_goes_in_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.api.taskinfo.parse_separation

    def odd_urls(*args: Any) -> Separation:
        parsed = real(*args)
        if not parsed.stems:
            return parsed
        vocals, other = parsed.stems[0], parsed.stems[1]
        stems = (Stem(vocals.key, vocals.label, vocals.url + "/My Song ✨ (final).mp3"),
                 Stem(other.key, other.label, "ftp://files.example/backing.mp3"))
        return dataclasses.replace(parsed, stems=stems)

    monkeypatch.setattr(bot.api.client, "parse_separation", odd_urls)
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)
        world.sandbox.finish(await world.remote_id(job_id))
        told = await world.result()

        [link] = [b["url"] for b in told.buttons if b.get("url")]
        assert link.endswith("/My%20Song%20%E2%9C%A8%20(final).mp3")
        assert "**Vocals**" in told.text  # named in the text, downloaded with its button
        assert "ftp://files.example/backing.mp3" in told.text
        assert world.standin.errors == []  # nothing was refused on the way


async def test_a_retried_second_batch_is_not_swallowed_as_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        poster = loaded("cogs.stems._poster")
        monkeypatch.setattr(poster, "MENTIONS_PER_MESSAGE", 1)
        job_id = await accepted(world)
        assert await accepted(world, world.bob) == job_id  # bob joins alice's job
        world.standin.refuse_next(channel_posts(world), status=503, code=0,
                                  message="Service Unavailable", after=1)

        world.sandbox.finish(await world.remote_id(job_id))
        first = await world.result()
        await world.settle()
        pending = [s for s in await world.subscriptions(job_id) if s.delivery == Delivery.PENDING]
        assert [s.user_id for s in pending] == [world.bob.id]

        retry = poster.ResultPoster(world.bot)
        retried = await retry(await world.job(job_id), pending)

        second = await world.result(lambda m: m.id != first.id)
        assert first.pinged_user_ids == {world.alice.id}
        assert second.pinged_user_ids == {world.bob.id}
        assert retried[pending[0].id].message_id == second.id


async def test_result_posts_allow_pings_of_the_requesters_only(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(cooldown_s=0)
        job_id = await accepted(world)
        second = await accepted(world, song="demo-song-2")
        world.sandbox.finish(await world.remote_id(job_id))
        await world.result()
        world.standin.refuse_next(channel_posts(world), status=403, code=50013,
                                  message="Missing Permissions")  # the second goes by DM
        world.sandbox.finish(await world.remote_id(second))
        await world.dm(world.alice)
        await world.settle()

        results = [m for m in world.standin.messages
                   if m.interaction_id is None and m.author_id == world.standin.bot_user_id]
        assert len(results) == 2 and results[1].guild_id is None  # in the channel, and by DM
        for message, may_ping in zip(results, [{world.alice.id}, set()], strict=True):
            allowed = message.allowed_mentions or {}
            assert allowed.get("parse") == []
            assert {int(u) for u in allowed.get("users", [])} == may_ping  # a DM pings nobody
            assert not allowed.get("roles")


async def test_no_one_else_is_pinged_even_with_escaping_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.utils, "escape_mentions", lambda text: text)
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        role = world.standin.add_role(world.guild, "fans")
        title = f"@everyone @here <@&{role.id}> <@{world.bob.id}>"
        world.sandbox.add_music_task(TASK, [("ping-song", title)])
        job_id = await accepted(world, task=TASK, song="ping-song")

        world.sandbox.finish(await world.remote_id(job_id), success=False, message=title)
        told = await world.result()

        assert "@everyone" in told.text and f"<@{world.bob.id}>" in told.text
        assert told.pinged_user_ids == {world.alice.id}
        assert not told.pings_everyone and not told.pinged_roles
