"""Shared fixtures: a fake clock, the sandbox on loopback, and the engine wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.sandbox import Sandbox, SandboxServer, serve
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
