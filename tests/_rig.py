"""The engine rig the unit tests share: the engine against a served sandbox on one fake clock,
a recording deliverer, and small steps (submit a job, read its state, watch its polls)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot.config import Settings
from bot.delivery import Delivered
from bot.engine import Engine
from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.rate import RequestRate
from bot.sandbox import Sandbox
from bot.service import Request
from tests._sandbox_fixtures import FakeClock

DURATIONS_S = {Mode.VOCAL: 60.0, Mode.INSTRUMENTAL: 120.0}
PLACE_STEP_S = 0.2  # how far fake time moves each time a call waits for a place

T = TypeVar("T")


async def moving_time_for_places(
    call: Awaitable[T],
    rates: Callable[[], Iterable[RequestRate]],
    advance: Callable[[float], Awaitable[None]],
) -> T:
    """Run `call` (a submission: its CreateTask takes a place in the request rate). On a fake
    clock a full window never empties by itself, so time moves on, a small step at a time,
    only while some call waits for a place."""
    task = asyncio.ensure_future(call)
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.005)
        if done:
            return task.result()
        if any(rate.waiting for rate in rates()):
            await advance(PLACE_STEP_S)


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


TASK, SONG = "demo-music-task", "demo-song-1"


async def submit(rig: Rig, song: str = SONG, mode: Mode = Mode.VOCAL, task: str = TASK) -> int:
    submission = await moving_time_for_places(
        rig.engine.service.submit(Request(task, song, mode, 1, 2, 3)),
        lambda: [rig.engine.rate], lambda s: rig.advance(s, step=s),
    )
    return submission.job.id


async def state(rig: Rig, job_id: int) -> JobState:
    job = await rig.engine.store.get(job_id)
    assert job is not None
    return job.state


async def poll_times(rig: Rig, seconds: float, step: float = 0.5) -> list[float]:
    """Advance time; return the moments (since start) at which TaskInfo was called."""
    start, seen, times = rig.clock.now, rig.sandbox.calls["TaskInfo"], []
    moved = 0.0
    while moved < seconds:
        rig.clock.advance(step)
        moved += step
        await rig.settle(passes=2)
        if rig.sandbox.calls["TaskInfo"] > seen:
            times.extend([rig.clock.now - start] * (rig.sandbox.calls["TaskInfo"] - seen))
            seen = rig.sandbox.calls["TaskInfo"]
    return times
