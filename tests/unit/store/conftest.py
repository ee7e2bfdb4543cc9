"""The store tests' one door: an opened store of each backend, used only through `Store`.

Issue 11 adds "postgresql" to BACKENDS; every test that takes `store` (or `reopen`) then runs
on both. Tests of one backend's insides (SQLite's file, lock and PRAGMAs) live in test_db.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.jobs import Job
from bot.store import Published, Store, open_store
from tests._sandbox_fixtures import FakeClock

BACKENDS = ("sqlite",)
Reopen = Callable[[], Awaitable[Store]]


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    assert request.param == "sqlite"
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

