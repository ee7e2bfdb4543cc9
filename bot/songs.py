"""Song lists of Suno music tasks: a finished one never changes, so it is kept once seen.

The pre-flight and autocomplete share one cache, and every call it does make takes a place in the
request rate first, ahead of the scheduler's polls.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from bot.api import MusicTask, StemApi
from bot.i18n import ngettext
from bot.jobs import RemoteState
from bot.rate import RequestRate

log = logging.getLogger(__name__)

CACHE_SIZE = 1024


class SongSource(Protocol):
    async def music_task(self, music_task_id: str) -> MusicTask: ...


class SongCache:
    """StemApi.music_task, within the request rate, with finished tasks' song lists kept (LRU)."""

    def __init__(self, api: StemApi, rate: RequestRate, size: int = CACHE_SIZE) -> None:
        self._api, self._rate, self._size = api, rate, size
        self._kept: OrderedDict[str, MusicTask] = OrderedDict()
        self.calls = 0  # TaskInfo calls made (the rest came from the cache)

    def cached(self, music_task_id: str) -> MusicTask | None:
        task = self._kept.get(music_task_id)
        if task is not None:
            self._kept.move_to_end(music_task_id)
        return task

    async def music_task(self, music_task_id: str) -> MusicTask:
        task = self.cached(music_task_id)
        if task is not None:
            return task
        async with self._rate.slot():
            self.calls += 1
            task = await self._api.music_task(music_task_id)
        if _final(task):
            self._kept[music_task_id] = task
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return task


def _final(task: MusicTask) -> bool:
    """Only a successful, finished task with songs we can read is worth keeping."""
    return task.state == RemoteState.SUCCEEDED and bool(task.songs) and task.songs_readable


class Cooldown:
    """At most one use per member per `period_s`; a refusal says how long to wait."""

    def __init__(self, period_s: float, clock: Callable[[], float], size: int = 4096) -> None:
        self._period_s, self._clock, self._size = period_s, clock, size
        self._last: OrderedDict[int, float] = OrderedDict()

    def wait_s(self, member_id: int) -> float:
        """0 when the member may go now; else the seconds left."""
        last = self._last.get(member_id)
        return 0.0 if last is None else max(0.0, last + self._period_s - self._clock())

    def take(self, member_id: int) -> float:
        """Use it now (returns 0), or the seconds left when it is too soon."""
        left = self.wait_s(member_id)
        if left > 0:
            return left
        self._last[member_id] = self._clock()
        self._last.move_to_end(member_id)
        while len(self._last) > self._size:
            self._last.popitem(last=False)
        return 0.0


def try_again_in(seconds: float) -> str:
    """'try again in 7 seconds' / 'in a minute': plain words for a refusal."""
    whole = max(1, round(seconds + 0.49))
    if whole < 60:
        return ngettext("try again in {n} second", "try again in {n} seconds", whole)
    minutes = round(whole / 60)
    return ngettext("try again in {n} minute", "try again in {n} minutes", minutes)
