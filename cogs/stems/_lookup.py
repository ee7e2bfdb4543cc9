"""Song choices for autocomplete, from the free TaskInfo of the music task (shared song cache)."""

from __future__ import annotations

import asyncio

from discord.app_commands import Choice

from bot.api import MusicTask
from bot.errors import ApiError, UserError
from bot.i18n import _
from bot.service import clean_music_task_id
from bot.songs import Cooldown, SongCache, try_again_in

LOOKUP_TIMEOUT_S = 2.0  # autocomplete must answer within 3 s


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f" ({minutes}:{secs:02d})"


class SongLookup:
    """A finished task's songs come from the cache for free; a lookup that would call the API
    is allowed once per member per cooldown, and a refusal says when to try again."""

    def __init__(self, songs: SongCache, cooldown: Cooldown) -> None:
        self._songs, self._cooldown = songs, cooldown

    async def choices(self, task_id: str | None, typed: str, member_id: int) -> list[Choice[str]]:
        try:
            music_task_id = clean_music_task_id(task_id or "")
        except UserError:
            return []
        task = self._songs.cached(music_task_id)
        if task is None:
            wait = self._cooldown.take(member_id)
            if wait > 0:
                note = _("Looking up songs too often: {wait}.", wait=try_again_in(wait))
                return [Choice(name=note, value=typed.strip()[:100] or "-")]
            task = await self._task(music_task_id)
        if task is None:
            return []
        needle = typed.strip().lower()
        return [
            Choice(name=f"{s.title}{_duration(s.duration_s)} · {s.song_id}"[:100], value=s.song_id)
            for s in task.songs
            if needle in s.title.lower() or needle in s.song_id.lower()
        ][:25]

    async def _task(self, music_task_id: str) -> MusicTask | None:
        try:
            return await asyncio.wait_for(self._songs.music_task(music_task_id), LOOKUP_TIMEOUT_S)
        except (ApiError, TimeoutError):
            return None
