"""Figure 5: job state transitions per second through store.move on a WAL file, idle and busy."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._rig import CountingDeliverer, CountingSandbox, percentile, seed_running
from bench.common import QUICK, Figure, table
from bot.engine import Engine
from bot.jobs import Job, JobState, Mode, Stem
from bot.sandbox import serve
from bot.store import JobStore, Store
from tests._settings import make_settings
from tests._sqlite import sqlite

TASK = "bench-store-task"
STEMS = (Stem("vocal_url", "Vocals", "http://127.0.0.1/files/x/vocal.mp3"),
         Stem("instrumental_url", "Instrumental", "http://127.0.0.1/files/x/instrumental.mp3"))


class Lifecycles:
    """Jobs taken through create -> RUNNING -> SUCCEEDED, each move timed."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store, self.prefix = store, prefix
        self.move_ms: list[float] = []
        self._next = 0

    async def one(self) -> None:
        self._next += 1
        job = await self.store.create_job(
            music_task_id=TASK, song_id=f"{self.prefix}-{self._next}", mode=Mode.VOCAL,
            song_title="Bench", guild_id=2, channel_id=2, requester_id=2,
            callback_token=None, estimated_credits=1.0,
        )
        job = await self._timed(job, JobState.RUNNING, remote_id=f"sep-{self.prefix}-{job.id}",
                                submitted_at=time.time())
        await self._timed(job, JobState.SUCCEEDED, stems=STEMS, credits=1.0, poll_count=3)

    async def _timed(self, job: Job, state: JobState, **changes: Any) -> Job:
        started = time.perf_counter()
        moved = await self.store.move(job, state, **changes)
        self.move_ms.append((time.perf_counter() - started) * 1000)
        return moved


async def _throughput(path: Path, jobs: int, writers: int) -> tuple[float, float, list[float]]:
    """(state changes/s, lifecycles/s, move latencies): `jobs` lifecycles, `writers` at once.

    A lifecycle is three state changes: created (submitting), -> running, -> succeeded.
    """
    store = await JobStore.open(path)
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
    done = jobs // writers * writers
    return 3 * done / elapsed, done / elapsed, cycles.move_ms


async def _busy(path: Path, tracked: int, busy_s: float) -> tuple[list[float], float]:
    """Move latencies while a scheduler works through `tracked` jobs; (latencies, polls/s)."""
    sandbox, deliverer = CountingSandbox(), CountingDeliverer()
    async with await serve(sandbox) as server:
        settings = make_settings(path, server.base_url, api_requests_per_s=200.0,
                                 poll_min_interval_s=0.2, poll_max_interval_s=1.0,
                                 crun_timeout_s=10.0)
        engine = await Engine.open(settings, deliverer)
        try:
            await seed_running(sqlite(engine.store), sandbox, tracked, finish_in_s=3600)
            rng, now = random.Random(7), sandbox.clock()
            for sep in sandbox.separations.values():
                sep.finish_at = now + rng.uniform(0.5, 8.0)
            await engine.start()
            await asyncio.sleep(1.0)  # the scheduler gets going
            cycles, calls = Lifecycles(sqlite(engine.store), "busy"), len(sandbox.arrivals)
            started = time.perf_counter()
            while time.perf_counter() - started < busy_s:
                await cycles.one()
                await asyncio.sleep(0.005)
            polls_per_s = (len(sandbox.arrivals) - calls) / (time.perf_counter() - started)
        finally:
            await engine.close()
    return cycles.move_ms, polls_per_s


async def run() -> list[Figure]:
    jobs, tracked, busy_s = (300, 500, 3.0) if QUICK else (2_000, 3_000, 10.0)
    with tempfile.TemporaryDirectory() as tmp:
        seq_rate, seq_cycles, idle_ms = await _throughput(Path(tmp) / "a.sqlite3", jobs, 1)
        conc_rate, _, _ = await _throughput(Path(tmp) / "b.sqlite3", jobs, 50)
        busy_ms, polls_per_s = await _busy(Path(tmp) / "c.sqlite3", tracked, busy_s)
    idle_p99, busy_p99 = percentile(idle_ms, 99), percentile(busy_ms, 99)
    return [
        Figure("store: transitions/s, one writer (WAL)", seq_rate, "/s"),
        Figure("store: job lifecycles/s (create+2 moves)", seq_cycles, "/s"),
        Figure("store: transitions/s, 50 writers at once", conc_rate, "/s",
               reference=seq_rate, reference_name="one writer"),
        Figure("store: one move p50, idle", percentile(idle_ms, 50), "ms"),
        Figure("store: one move p99, idle", idle_p99, "ms"),
        Figure(f"store: one move p99, scheduler busy ({tracked})", busy_p99, "ms",
               reference=idle_p99, reference_name="idle"),
        Figure("store: one move max, scheduler busy", max(busy_ms), "ms"),
        Figure("store: moves timed while busy", len(busy_ms), ""),
        Figure("store: scheduler API calls/s meanwhile", polls_per_s, "/s"),
    ]


if __name__ == "__main__":
    print(table(asyncio.run(run())))
