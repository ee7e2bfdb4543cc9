"""What both backends do alike: publishing a committed move, and the figures health and metrics
read (plain SQL with no parameters, the same in SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.jobs import Job
from bot.store.protocol import Published

log = logging.getLogger("bot.store")


def publish_move(published: Published | None, job: Job, moved: Job | None) -> Job:
    """After the commit: log the move and hand it to the one `published` hook.

    No statement runs here: once a move is committed, nothing can fail and leave its caller
    believing it was not (a running job nobody tracks, a result never delivered)."""
    assert moved is not None
    log.info("job %d: %s -> %s", job.id, job.state, moved.state)
    if published is not None:
        try:
            published(moved)
        except Exception:
            log.exception("job %d: publishing its move failed", job.id)
    return moved


class _Reads(Protocol):
    async def scalar(self, sql: str) -> Any: ...
    async def rows(self, sql: str) -> list[Any]: ...


class Figures:
    """The store-wide figures: /healthz's ping, and the gauges /metrics reads at each scrape."""

    def _reads(self) -> _Reads:
        """The backend's connection for plain reads (each backend says which)."""
        raise NotImplementedError

    async def ping(self) -> bool:
        """The database answers a statement (the /healthz check)."""
        return bool(await self._reads().scalar("SELECT 1") == 1)

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._reads().rows("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    async def credits_total(self) -> float:
        """Credits recorded as spent, all time (purged jobs' spending included)."""
        return float(await self._reads().scalar("SELECT COALESCE(SUM(credits), 0) FROM ledger"))

    async def credits_by_guild(self) -> dict[int, float]:
        """Credits recorded as spent by each server, all time."""
        rows = await self._reads().rows(
            "SELECT guild_id, SUM(credits) FROM ledger WHERE guild_id IS NOT NULL GROUP BY guild_id"
        )
        return {int(guild_id): float(spent) for guild_id, spent in rows}
