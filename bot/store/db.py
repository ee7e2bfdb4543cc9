"""The SQLite file: its writer and reader connections, process lock, migrations, transactions."""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

import aiosqlite

from bot.store import schema
from bot.store.errors import StoreError
from bot.store.turns import Turns, is_interactive

log = logging.getLogger(__name__)

# The write transaction open in this task, if any (whose Database). A read made inside it (the
# limit step's usage, a cancel counting who still waits) must see it, so it goes to the writer;
# every other read goes to the reader. Tasks copy the context they start in: never start one
# that outlives a transaction from inside it.
_writing: ContextVar[Database | None] = ContextVar("sqlite_tx", default=None)


class DatabaseInUse(StoreError):
    """Another process holds the database's lock."""


def hold(path: Path) -> IO[bytes]:
    """Take `<db>.lock` for this process, or refuse: one stembot per database."""
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "ab")  # held open for the store's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUse(
            f"another stembot is already running on the database {path} (it holds "
            f"{lock_path}). Run one stembot per database: stop the other one first, or, to "
            "run several processes, move to PostgreSQL (DATABASE_URL; stembot migrate-db)."
        ) from None
    except OSError:
        handle.close()
        raise
    return handle


def release(handle: IO[bytes] | None) -> None:
    if handle is not None:
        handle.close()  # closing the file releases the lock


class Database:
    """Owns the SQLite connections: one writer, whose transactions take turns (a member's
    first), and two readers, one for members' commands and one for background work. WAL lets
    readers answer beside an open write transaction (they see the last commit), so a command's
    read never queues behind the scheduler's writes, nor behind a burst of its reads."""

    def __init__(self, db: aiosqlite.Connection, lock_file: IO[bytes] | None = None) -> None:
        self._db = db
        # (members', background) readers; until migrated, reads use the writer.
        self._readers: tuple[aiosqlite.Connection, ...] = ()
        self._lock_file = lock_file
        self._writes = Turns()  # one writer; a member's write goes before background ones

    @classmethod
    async def open(cls, path: Path | str, *, exclusive: bool = True) -> Database:
        """Open (and migrate) the database. `exclusive`: this process is the one stembot on it.

        Two bots on one file would both poll and both deliver. The exclusive store holds a lock
        on `<db>.lock` for its life; the kernel drops it when the process dies, even on SIGKILL.
        Operator commands that only read or tidy (`stembot jobs`, `purge`) pass False.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = hold(path) if exclusive else None
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            release(lock_file)
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        db = cls(connection, lock_file)
        try:
            await db._prepare()
            for _ in range(2):
                await db._open_reader(path)
        except BaseException:
            await db.close()
            raise
        return db

    async def _prepare(self) -> None:
        try:
            await self._db.execute("PRAGMA busy_timeout = 5000")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            await self._migrate()
            # A read-only file opens and reads fine; prove now that writes work, not mid-job.
            async with self.transaction() as db:
                await db.execute(f"PRAGMA user_version = {schema.LATEST}")
        except sqlite3.Error as exc:
            raise StoreError(f"the database is not usable: {exc}") from exc

    async def _open_reader(self, path: Path) -> None:
        try:
            reader = await aiosqlite.connect(path, isolation_level=None)
            self._readers += (reader,)
            reader.row_factory = sqlite3.Row
            await reader.execute("PRAGMA busy_timeout = 5000")
            await reader.execute("PRAGMA foreign_keys = ON")
            await reader.execute("PRAGMA query_only = ON")  # it never writes, by mistake
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {path} for reading: {exc}") from exc

    async def _migrate(self) -> None:
        version = await self.scalar("PRAGMA user_version")
        if version > schema.LATEST:
            raise StoreError(
                f"the database has schema version {version}, newer than this stembot knows "
                f"({schema.LATEST}); upgrade stembot instead of running an old version on it"
            )
        for number in range(version + 1, schema.LATEST + 1):
            async with self.transaction():
                for statement in schema.MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")
            log.info("database migrated to schema version %d", number)

    async def close(self) -> None:
        try:
            for reader in self._readers:
                await reader.close()
            await self._db.close()
        finally:
            release(self._lock_file)
            self._lock_file = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. Whatever fails in it, COMMIT included (SQLite keeps the
        transaction open after a busy or failed commit), it is rolled back: the connection is
        never left inside a transaction that every later BEGIN would trip over."""
        async with self._writes.turn():
            if self._db.in_transaction:  # only a ROLLBACK that itself failed leaves one
                await self._rollback()
            await self._db.execute("BEGIN IMMEDIATE")
            token = _writing.set(self)
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
            finally:
                _writing.reset(token)

    async def _rollback(self) -> None:
        """Roll back what is open, if anything; a failure here must not hide the first one."""
        if not self._db.in_transaction:
            return
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rolling back a failed transaction failed; the next write retries it",
                        exc_info=True)

    def _for_reading(self) -> aiosqlite.Connection:
        """The writer inside this task's transaction (or before the readers open); else the
        members' reader or the background one."""
        if len(self._readers) < 2 or _writing.get() is self:
            return self._db
        return self._readers[0 if is_interactive() else 1]

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        found = await self.rows(sql, params)
        return found[0][0] if found else None

    async def rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        # One trip to the connection's thread (not three: execute, fetch, close): under load
        # each trip waits its turn on the event loop.
        return list(await self._for_reading().execute_fetchall(sql, tuple(params)))
