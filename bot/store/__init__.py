"""The store: every SQL statement of the bot, behind one interface (`Store`) per backend."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.config import Settings
from bot.store.errors import Cancelled, StoreError
from bot.store.guilds import GuildStore
from bot.store.protocol import Admit, Published, Store
from bot.store.sqlite import JobStore

__all__ = [
    "Admit", "Cancelled", "GuildStore", "JobStore", "Published", "Store", "StoreError",
    "open_store",
]


async def open_store(
    settings: Settings, *, clock: Callable[[], float] = time.time, exclusive: bool = True,
    published: Published | None = None,
) -> Store:
    """The backend the settings name, opened and migrated: PostgreSQL when DATABASE_URL is set,
    else SQLite at DATABASE_PATH. `exclusive`: this process is the only bot on the SQLite file
    (operator commands that only read pass False; PostgreSQL is shared by design)."""
    if settings.database_url:
        from bot.store.postgres import PgStore  # asyncpg is loaded only when it is used

        return await PgStore.open(
            settings.database_url.reveal(), clock=clock, published=published)
    return await JobStore.open(
        settings.database_path, clock=clock, exclusive=exclusive, published=published
    )
