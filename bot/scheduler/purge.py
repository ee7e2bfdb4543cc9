"""Retention: ended jobs older than the retention period are deleted, at most once a day."""

from __future__ import annotations

from bot.store import Store

PURGE_EVERY_S = 24 * 3600.0


class Purge:
    """Runs inside the one loop; the first pass after a start purges at once."""

    def __init__(self, store: Store, retention_s: float | None) -> None:
        self._store, self._retention_s = store, retention_s
        self._next_at = 0.0

    async def run_if_due(self, now: float) -> None:
        if self._retention_s is None or now < self._next_at:
            return
        self._next_at = now + PURGE_EVERY_S
        await self._store.purge_finished(now - self._retention_s)
