"""Helpers for the end-to-end command tests: buttons by label, jobs made fast, a bot restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from bot.bot import StemBot
from bot.jobs import Job, JobState, Mode
from bot.rules import GuildRules
from tests.bot_world import World
from tests.standin import Message, User, running_bot


def custom_id(message: Message, label: str) -> str:
    """The custom_id of the (non-link) button labelled `label` on `message`."""
    found = [b for b in message.buttons if b.get("label") == label and "custom_id" in b]
    assert found, f"no button {label!r} on message {message.id}: {message.buttons}"
    return str(found[0]["custom_id"])


def is_disabled(message: Message, label: str) -> bool:
    return any(b.get("disabled", False) for b in message.buttons if b.get("label") == label)


async def set_rules(world: World, **changes: object) -> GuildRules:
    """Change the test server's rules directly in the store (not through /stems config)."""
    rules = replace(await world.bot.guild_store.rules(world.guild.id), **changes)  # type: ignore[arg-type]
    await world.bot.guild_store.save_rules(world.guild.id, rules)
    return rules


async def ended_job(
    world: World, user: User, *, song: str, title: str | None = None,
    guild_id: int | None = None, task: str = "old-music-task",
) -> Job:
    """A job recorded straight into the store and already ended (nothing to deliver or poll)."""
    store = world.bot.engine.store
    job = await store.create_job(
        music_task_id=task, song_id=song, mode=Mode.VOCAL, song_title=title or song,
        guild_id=world.guild.id if guild_id is None else guild_id, channel_id=world.channel.id,
        requester_id=user.id, callback_token=None, estimated_credits=1.0,
    )
    await store.refund(job.id)
    return await store.move(job, JobState.FAILED, error="made up for a test", told=True)


@asynccontextmanager
async def restarted(world: World) -> AsyncIterator[StemBot]:
    """Stop the world's bot and run a fresh one on the same database and Discord."""
    await world.bot.engine.scheduler.drain()  # let deliveries in flight finish first
    await world.bot.close()
    async with running_bot(StemBot(world.settings), world.standin) as bot:
        yield bot
