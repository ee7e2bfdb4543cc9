"""The store tests' one door: an opened store of each backend, used only through `Store`.

Every test that takes `store` (or `reopen`) runs on both backends: SQLite in tmp_path, and a
PostgreSQL database of its own, copied from a migrated template (fast: no migration per test).
Tests of one backend's insides live in test_db.py (SQLite) and test_postgres.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.config import Settings
from bot.database_url import DatabaseUrl
from bot.jobs import Job
from bot.store import Published, Store, open_store
from bot.store.postgres import PgStore
from tests._sandbox_fixtures import FakeClock

BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "stembot_store_template"
Reopen = Callable[[], Awaitable[Store]]


def database(dsn: str, name: str) -> str:
    """The same server and user, another database."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def pg_settings(dsn: str) -> Settings:
    return Settings(database_url=DatabaseUrl(dsn))


async def _make_template(dsn: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    await (await PgStore.open(database(dsn, TEMPLATE), pool_size=1)).close()


@pytest.fixture(scope="session")
def pg_template(postgres_url: str) -> str:
    """A database migrated once, copied for each test."""
    asyncio.run(_make_template(postgres_url))
    return TEMPLATE


@pytest.fixture
async def fresh_pg(postgres_url: str, pg_template: str) -> AsyncIterator[str]:
    """A DSN to this test's own migrated PostgreSQL database, dropped after it."""
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
        yield database(postgres_url, name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgresql":
        return pg_settings(request.getfixturevalue("fresh_pg"))
    return Settings(database_path=tmp_path / "db" / "jobs.sqlite3")


@pytest.fixture
def published() -> list[Job]:
    """Every move the store published, in order."""
    return []


@pytest.fixture
async def reopen(
    backend_settings: Settings, clock: FakeClock, published: list[Job]
) -> AsyncIterator[Reopen]:
    """Open the same database again (after closing the last one): what survives a restart."""
    opened: list[Store] = []
    hook: Published = published.append

    async def again() -> Store:
        if opened:
            await opened[-1].close()
        opened.append(await open_store(backend_settings, clock=clock, published=hook))
        return opened[-1]

    yield again
    if opened:
        await opened[-1].close()


@pytest.fixture
async def store(reopen: Reopen) -> Store:
    return await reopen()

