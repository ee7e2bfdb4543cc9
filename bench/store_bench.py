"""Figure 5: store throughput, one move's and a command's reads' latency, idle and with the
scheduler busy, on SQLite and PostgreSQL side by side."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._rig import CountingDeliverer, CountingSandbox, percentile, seed_running
from bench.common import QUICK, Figure, table
from bench.store_backends import Backend, backends
from bot.engine import Engine
from bot.jobs import Job, JobState, Mode, Stem
from bot.rules import GuildRules
from bot.sandbox import serve
from bot.store import Store, open_store
from bot.store.turns import for_a_member
from tests._settings import make_settings

TASK = "bench-store-task"
STEMS = (Stem("vocal_url", "Vocals", "http://127.0.0.1/files/x/vocal.mp3"),
         Stem("instrumental_url", "Instrumental", "http://127.0.0.1/files/x/instrumental.mp3"))
RULES = GuildRules()


class Lifecycles:
    """Jobs taken through create -> RUNNING -> SUCCEEDED, each move timed; and the reads a
    command makes before it pays (usage, the open job for the song, the member's list), timed.
    All as a member's work (interactive), as the service's entry points run it."""

    def __init__(self, store: Store, prefix: str, member: int = 2) -> None:
        # Each phase asks as its own member in its own server: the reads count the member's
        # jobs, so a member who ran the idle phase would read twice as many rows when busy.
        self.store, self.prefix, self.member = store, prefix, member
        self.move_ms: list[float] = []
        self.read_ms: list[float] = []
        self._next = 0

    @for_a_member
    async def one(self) -> None:
        self._next += 1
        job = await self.store.create_job(
            music_task_id=TASK, song_id=f"{self.prefix}-{self._next}", mode=Mode.VOCAL,
            song_title="Bench", guild_id=self.member, channel_id=self.member,
            requester_id=self.member,
            callback_token=None, estimated_credits=1.0,
        )
        job = await self._timed(job, JobState.RUNNING, remote_id=f"sep-{self.prefix}-{job.id}",
                                submitted_at=time.time())
        await self._timed(job, JobState.SUCCEEDED, stems=STEMS, credits=1.0, poll_count=3)

    @for_a_member
    async def read(self) -> None:
        started = time.perf_counter()
        await self.store.usage(self.member, self.member, RULES, time.time())
        await self.store.find_open(TASK, f"{self.prefix}-{self._next}", Mode.VOCAL)
        await self.store.jobs_page(self.member, self.member, offset=0, limit=10)
        self.read_ms.append((time.perf_counter() - started) * 1000)

    async def _timed(self, job: Job, state: JobState, **changes: Any) -> Job:
        started = time.perf_counter()
        moved = await self.store.move(job, state, **changes)
        self.move_ms.append((time.perf_counter() - started) * 1000)
        return moved

    async def run_for(self, seconds: float) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await self.one()
            await self.read()
            await asyncio.sleep(0.005)


async def _throughput(backend: Backend, name: str, jobs: int, writers: int) -> float:
    """State changes/s: `jobs` lifecycles (three changes each), `writers` at once."""
    store = await open_store(await backend.fresh(name))
    try:
        cycles = Lifecycles(store, f"w{writers}")

        async def writer(count: int) -> None:
            for _ in range(count):
                await cycles.one()

        started = time.perf_counter()
        await asyncio.gather(*(writer(jobs // writers) for _ in range(writers)))
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return 3 * (jobs // writers * writers) / elapsed


@dataclass
class Busy:
    """Latencies on one database with `tracked` running jobs: scheduler stopped, then busy."""

    idle: Lifecycles
    busy: Lifecycles
    polls_per_s: float
    tracked: int


@asynccontextmanager
async def _engine(backend: Backend, tracked: int) -> AsyncIterator[tuple[Engine, CountingSandbox]]:
    """An engine over a fresh database holding `tracked` running jobs, not started yet."""
    sandbox = CountingSandbox()
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(await serve(sandbox))
        base = await backend.fresh("busy")
        settings = make_settings(base.database_path, server.base_url,
                                 database_url=base.database_url, api_requests_per_s=200.0,
                                 poll_min_interval_s=0.2, poll_max_interval_s=1.0,
                                 crun_timeout_s=10.0)
        engine = await Engine.open(settings, CountingDeliverer())
        stack.push_async_callback(engine.close)
        await seed_running(engine.store, sandbox, tracked, finish_in_s=3600)
        rng, now = random.Random(7), sandbox.clock()
        for sep in sandbox.separations.values():
            sep.finish_at = now + rng.uniform(0.5, 8.0)
        yield engine, sandbox


async def _busy(backend: Backend, tracked: int, busy_s: float) -> Busy:
    async with _engine(backend, tracked) as (engine, sandbox):
        idle = Lifecycles(engine.store, "idle")
        await idle.run_for(busy_s)
        await engine.start()
        await asyncio.sleep(1.0)  # the scheduler gets going
        busy, calls = Lifecycles(engine.store, "busy", member=3), len(sandbox.arrivals)
        started = time.perf_counter()
        await busy.run_for(busy_s)
        polls_per_s = (len(sandbox.arrivals) - calls) / (time.perf_counter() - started)
    return Busy(idle, busy, polls_per_s, tracked)


def _figures(name: str, one: float, fifty: float, run: Busy, first: Figure | None) -> list[Figure]:
    idle_p99, busy_p99 = percentile(run.idle.move_ms, 99), percentile(run.busy.move_ms, 99)
    read_idle, read_busy = percentile(run.idle.read_ms, 99), percentile(run.busy.read_ms, 99)
    return [
        Figure(f"store {name}: transitions/s, one writer", one, "/s",
               reference=None if first is None else first.value, reference_name="sqlite"),
        Figure(f"store {name}: transitions/s, 50 writers", fifty, "/s",
               reference=one, reference_name="one writer"),
        Figure(f"store {name}: one move p99, idle", idle_p99, "ms",
               reference=percentile(run.idle.move_ms, 50), reference_name="p50"),
        Figure(f"store {name}: one move p99, busy ({run.tracked})", busy_p99, "ms",
               target="<= 5x idle", met=busy_p99 <= 5 * idle_p99,
               reference=idle_p99, reference_name="idle"),
        Figure(f"store {name}: command reads p99, idle", read_idle, "ms"),
        Figure(f"store {name}: command reads p99, busy", read_busy, "ms",
               target="<= 5x idle", met=read_busy <= 5 * read_idle,
               reference=read_idle, reference_name="idle"),
        Figure(f"store {name}: scheduler API calls/s meanwhile", run.polls_per_s, "/s"),
    ]


async def run() -> list[Figure]:
    jobs, tracked, busy_s = (300, 500, 3.0) if QUICK else (2_000, 3_000, 10.0)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with backends(Path(tmp)) as found:
            for backend in found:
                one = await _throughput(backend, "one", jobs, 1)
                fifty = await _throughput(backend, "fifty", jobs, 50)
                busy = await _busy(backend, tracked, busy_s)
                figures += _figures(backend.name, one, fifty, busy,
                                    figures[0] if figures else None)
    return figures


if __name__ == "__main__":
    print(table(asyncio.run(run())))
