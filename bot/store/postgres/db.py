"""The PostgreSQL pool: migrations at start, transactions bound to the task that opened them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg

from bot.store.errors import StoreError
from bot.store.postgres import schema
from bot.store.turns import is_interactive

log = logging.getLogger(__name__)

Record = asyncpg.Record
# What a transaction hands out: a pooled connection (the pool's proxy of asyncpg.Connection).
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.pool.PoolConnectionProxy[Record]
else:
    Connection = asyncpg.pool.PoolConnectionProxy

# Pooled connections background work may hold at once; the rest are kept for members' commands,
# so a burst of the scheduler's polls never leaves a command waiting for a connection.
RESERVED_FOR_MEMBERS = 3

# Two stembots starting at once must not both migrate: one waits on this lock.
MIGRATION_LOCK = 0x5737_E3B0

# The transaction open in this task, if any: (whose pool, its connection). A read made through
# the store inside the transaction (the limit step's usage) must see it, so reads ask here
# before taking a pool connection. Tasks copy the context they start in: never start one that
# outlives a transaction from inside it.
_bound: ContextVar[tuple[PgDatabase, Connection] | None] = ContextVar("pg_tx", default=None)


async def _nothing_to_reset(_connection: asyncpg.Connection[Record]) -> None:
    """A pooled connection goes back as it came: no session settings, LISTEN (its own
    connection), cursors or session locks (the migration's is the transaction's). asyncpg still
    rolls back a transaction left open; skipping its reset query saves a round trip per
    statement, and each round trip waits its turn while the scheduler is busy."""


def shown(dsn: str) -> str:
    """The address without its password, for messages."""
    parts = urlsplit(dsn)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


class PgDatabase:
    """Owns the asyncpg pool. Every statement runs on the task's transaction or a pooled one."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, pool_size: int = 10) -> None:
        self._pool = pool
        self._dsn = dsn
        self._listener: asyncpg.Connection[Record] | None = None  # LISTEN needs its own
        self._background = asyncio.Semaphore(max(1, pool_size - RESERVED_FOR_MEMBERS))

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = 10) -> PgDatabase:
        """Connect (a pool of up to `pool_size`), migrate, or raise StoreError saying why."""
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size,
                                             reset=_nothing_to_reset)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot open the database {shown(dsn)}: {exc}") from exc
        db = cls(pool, dsn, pool_size)
        try:
            await db._migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def _migrate(self) -> None:
        async with self.transaction() as connection:
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
            if version > schema.LATEST:
                raise StoreError(
                    f"the database has schema version {version}, newer than this stembot knows "
                    f"({schema.LATEST}); upgrade stembot instead of running an old version on it"
                )
            for number in range(version + 1, schema.LATEST + 1):
                await connection.execute(schema.MIGRATIONS[number - 1])
                await connection.execute("INSERT INTO schema_version VALUES ($1)", number)
                log.info("database migrated to schema version %d", number)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self._pool.close()

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for each NOTIFY on `channel`, on a connection outside the
        pool (a pooled one is reset, and its listeners dropped, when it goes back)."""
        if self._listener is None:
            self._listener = await asyncpg.connect(self._dsn)

        def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            callback(str(payload))

        await self._listener.add_listener(channel, on_notify)

    def _turn(self) -> AbstractAsyncContextManager[object]:
        """A member's work takes any free connection; background work one of its share."""
        return nullcontext() if is_interactive() else self._background

    def _connection(self) -> Connection | None:
        bound = _bound.get()
        return bound[1] if bound is not None and bound[0] is self else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One transaction on one pooled connection, bound to this task until it ends."""
        if self._connection() is not None:
            raise RuntimeError("a transaction is already open in this task")
        async with self._turn(), self._pool.acquire() as connection:
            async with connection.transaction():
                token = _bound.set((self, connection))
                try:
                    yield connection
                finally:
                    _bound.reset(token)

    async def execute(self, sql: str, *args: Any) -> str:
        connection = self._connection()
        if connection is not None:
            return await connection.execute(sql, *args)
        async with self._turn():
            return await self._pool.execute(sql, *args)

    async def rows(self, sql: str, *args: Any) -> list[Record]:
        connection = self._connection()
        if connection is not None:
            return await connection.fetch(sql, *args)
        async with self._turn():
            return await self._pool.fetch(sql, *args)

    async def scalar(self, sql: str, *args: Any) -> Any:
        connection = self._connection()
        if connection is not None:
            return await connection.fetchval(sql, *args)
        async with self._turn():
            return await self._pool.fetchval(sql, *args)


def count(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])
