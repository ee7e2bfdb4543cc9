"""Shared fixtures: a fake clock, the sandbox on loopback, and the engine wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Settings
from bot.delivery import Delivered
from bot.engine import Engine
from bot.jobs import Delivery, Job, Mode, Subscription
from bot.sandbox import Sandbox, SandboxServer, serve
from tests._sandbox_fixtures import FakeClock
from tests._settings import make_settings

__all__ = ["DURATIONS_S", "Recorder", "Rig", "make_settings"]  # make_settings: tests/_settings.py

DURATIONS_S = {Mode.VOCAL: 60.0, Mode.INSTRUMENTAL: 120.0}


@dataclass
class Recorder:
    """A deliverer that records what it was handed and answers with `outcome`."""

    outcome: Delivery = Delivery.CHANNEL
    calls: list[tuple[Job, list[Subscription]]] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        self.calls.append((job, list(subs)))
        if self.fail:
            raise ConnectionError("discord is unreachable")
        return {s.id: Delivered(self.outcome, message_id=1000 + s.id) for s in subs}

    def delivered_job_ids(self) -> list[int]:
        return [job.id for job, _ in self.calls]


@dataclass
class Rig:
    """The engine against a served sandbox, both on one fake clock."""

    engine: Engine
    sandbox: Sandbox
    clock: FakeClock
    recorder: Recorder
    settings: Settings

    async def settle(self, passes: int = 5) -> None:
        """Let the scheduler do all that is due now (no time passes)."""
        for _ in range(passes):
            self.sandbox.due()
            await self.engine.scheduler.run_once()
            await self.engine.scheduler.drain()

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move time forward in steps, letting the scheduler act at each."""
        moved = 0.0
        while moved < seconds:
            self.clock.advance(min(step, seconds - moved))
            moved += step
            await self.settle(passes=2)


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
