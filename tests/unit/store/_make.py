"""Jobs made for the store tests, through the interface."""

from __future__ import annotations

from bot.jobs import Job, Mode
from bot.store import Store


async def new_job(
    store: Store, song: str = "s1", *, guild: int = 1, user: int = 3, credits: float = 1.0,
    locale: str | None = None,
) -> Job:
    return await store.create_job(
        music_task_id="t1", song_id=song, mode=Mode.VOCAL, song_title=f"Song {song}",
        guild_id=guild, channel_id=2, requester_id=user, callback_token=f"tok-{song}",
        estimated_credits=credits, locale=locale,
    )
