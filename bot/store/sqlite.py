"""The SQLite backend: jobs, deliveries and guilds over one Database (the embedded default)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.store.db import Database
from bot.store.deliveries import Deliveries
from bot.store.guilds import Guilds
from bot.store.jobs import Jobs
from bot.store.leases import Leases
from bot.store.protocol import Published, WakeListener


class JobStore(Jobs, Deliveries, Guilds, Leases):
    """The Store interface on one SQLite file, for one process (it holds `<db>.lock`)."""

    def __init__(
        self, db: Database, clock: Callable[[], float], published: Published | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._published = published
        self._wake_listeners: list[WakeListener] = []

    @classmethod
    async def open(
        cls, path: Path | str, *, clock: Callable[[], float] = time.time,
        exclusive: bool = True, published: Published | None = None,
    ) -> JobStore:
        """Open (and migrate) the file; `published` is given every committed move."""
        return cls(await Database.open(path, exclusive=exclusive), clock, published)

    async def close(self) -> None:
        await self._db.close()

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """One value by SQL: for tests and checks of this backend only (not the interface)."""
        return await self._db.scalar(sql, params)
