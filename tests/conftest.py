"""Shared fixtures: a fake clock, the sandbox on loopback, the engine wired to both, PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.sandbox import Sandbox, SandboxServer, serve
from tests import _postgres as pg
from tests._rig import DURATIONS_S, Recorder, Rig
from tests._sandbox_fixtures import FakeClock
from tests._settings import make_settings

# Re-exported for older imports; tests import them from tests._rig and tests._settings.
__all__ = ["DURATIONS_S", "Recorder", "Rig", "make_settings"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox_server(clock: FakeClock) -> AsyncIterator[SandboxServer]:
    async with await serve(Sandbox(clock=clock, duration_s=DURATIONS_S.__getitem__)) as server:
        yield server


@pytest.fixture
async def rig(
    tmp_path: Path, clock: FakeClock, sandbox_server: SandboxServer
) -> AsyncIterator[Rig]:
    settings = make_settings(tmp_path / "jobs.sqlite3", sandbox_server.base_url)
    recorder = Recorder()
    engine = await Engine.open(settings, recorder, clock=clock)
    await engine.scheduler.resume()
    rig = Rig(engine, sandbox_server.sandbox, clock, recorder, settings)
    try:
        yield rig
    finally:
        await rig.engine.close()  # a restart test may have swapped in another engine


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[pg.Cluster]:
    """One throwaway cluster for the whole run; skipped (or failed, in CI) without PostgreSQL."""
    bin_dir = pg.find_bin_dir()
    if bin_dir is None:
        pg.unavailable("no initdb/pg_ctl found (install PostgreSQL 15 or set STEMBOT_PG_BIN)")
    with ExitStack() as stack:
        try:
            running = stack.enter_context(pg.cluster(bin_dir))
        except pg.ClusterError as exc:
            pg.unavailable(str(exc))
        yield running


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: pg.Cluster) -> str:
    """A DSN to a fresh database, shared by the session."""
    return asyncio.run(pg.create_database(postgres_cluster, "stembot_test"))


@pytest.fixture
async def fresh_postgres_url(postgres_cluster: pg.Cluster) -> str:
    """A DSN to a database of this test's own."""
    return await pg.create_database(postgres_cluster, f"stembot_{secrets.token_hex(6)}")
