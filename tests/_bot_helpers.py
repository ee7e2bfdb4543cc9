"""Helpers for the end-to-end command tests: button state, and ended jobs made fast."""

from __future__ import annotations

from bot.jobs import Job, JobState, Mode
from tests.bot_world import World
from tests.standin import Message, User


def is_disabled(message: Message, label: str) -> bool:
    return any(b.get("disabled", False) for b in message.buttons if b.get("label") == label)


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
    return await store.move(job, JobState.FAILED, error="made up for a test", told=True,
                            refund=True)
