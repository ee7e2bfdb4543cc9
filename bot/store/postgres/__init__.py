"""The PostgreSQL backend: the Store interface over an asyncpg pool, for several processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.store.postgres.db import PgDatabase
from bot.store.postgres.deliveries import PgDeliveries
from bot.store.postgres.guilds import PgGuilds
from bot.store.postgres.jobs import PgJobs
from bot.store.postgres.leases import PgLeases
from bot.store.protocol import Published

__all__ = ["PgStore"]


class PgStore(PgJobs, PgDeliveries, PgGuilds, PgLeases):
    """The Store interface on one PostgreSQL database, shared by any number of processes."""

    def __init__(
        self, db: PgDatabase, clock: Callable[[], float], published: Published | None = None,
        lease: tuple[str, float] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._published = published
        self._lease = lease

    @classmethod
    async def open(
        cls, dsn: str, *, clock: Callable[[], float] = time.time,
        published: Published | None = None, pool_size: int = 10,
        lease: tuple[str, float] | None = None,
    ) -> PgStore:
        """Connect a pool and migrate; `published` is given every committed move; `lease`
        (owner, seconds): each job this store creates is leased to its creator from the start,
        so no other process takes it while it is being submitted."""
        return cls(await PgDatabase.open(dsn, pool_size=pool_size), clock, published, lease)

    async def close(self) -> None:
        await self._db.close()

    async def scalar(self, sql: str, *params: Any) -> Any:
        """One value by SQL: for tests and checks of this backend only (not the interface)."""
        return await self._db.scalar(sql, *params)
