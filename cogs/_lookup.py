"""Song choices for autocomplete, from the free TaskInfo of the music task, cached briefly."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from discord.app_commands import Choice

from bot.api import MusicTask, StemApi
from bot.errors import ApiError, UserError
from bot.service import clean_music_task_id

CACHE_TTL_S = 120.0
CACHE_SIZE = 256
LOOKUP_TIMEOUT_S = 2.0  # autocomplete must answer within 3 s


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f" ({minutes}:{secs:02d})"


class SongLookup:
    """Remembers a few music tasks for two minutes so typing doesn't repeat the lookup."""

    def __init__(self, api: StemApi) -> None:
        self._api = api
        self._cache: OrderedDict[str, tuple[float, MusicTask]] = OrderedDict()

    async def choices(self, task_id: str | None, typed: str) -> list[Choice[str]]:
        try:
            music_task_id = clean_music_task_id(task_id or "")
        except UserError:
            return []
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
        cached = self._cache.get(music_task_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            task = await asyncio.wait_for(self._api.music_task(music_task_id), LOOKUP_TIMEOUT_S)
        except (ApiError, TimeoutError):
            return None
        self._cache[music_task_id] = (time.monotonic() + CACHE_TTL_S, task)
        self._cache.move_to_end(music_task_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return task
