"""One lock per song: a second request for a song waits for the first one's submission."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class SongLocks:
    """One asyncio lock per key, kept while anyone holds or waits for it.

    A lock dropped as soon as it is released would let a newcomer take a fresh lock while
    the waiter that release just woke is about to run: two holders at once."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def busy(self, key: Hashable) -> bool:
        """Someone holds this song's lock now (its submission may be waiting on the API)."""
        entry = self._locks.get(key)
        return entry is not None and entry[0].locked()

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
