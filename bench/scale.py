"""Figure 4: 10,000 open jobs in one engine against the sandbox: rate, lag, memory, restart."""

from __future__ import annotations

import asyncio
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench._rig import CountingDeliverer, CountingSandbox, max_per_window, percentile, seed_running
from bench.common import QUICK, Figure, table
from bot.config import Settings
from bot.engine import Engine
from bot.rate import RequestRate
from bot.sandbox import serve
from bot.store import JobStore
from tests._settings import make_settings

RATE_PER_S = 200.0  # raised from the default 5/s: 10,000 jobs need >= 2,000 s at 5/s
MIN_S, MAX_S = 0.5, 2.0
DURATION_S = (2.0, 40.0)  # sandbox run time of each job, uniform
TARGET_RSS_MB = 200.0
TARGET_LAG_MS = 50.0
TARGET_RESUME_S = 2.0


class CountingRate(RequestRate):
    """The scheduler's request rate, noting when each request was allowed (by its clock)."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float]) -> None:
        super().__init__(rate_per_s, clock)
        self.taken: list[float] = []

    def try_take(self) -> bool:
        allowed = super().try_take()
        if allowed:
            self.taken.append(self._clock())  # when the rate let it go
        return allowed


class Sampler:
    """Event-loop lag (sleep 10 ms, measure the overshoot) and resident memory, sampled."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self.peak_rss_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        n = 0
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.010)
            self.lags_ms.append(max(0.0, (time.perf_counter() - before - 0.010) * 1000))
            n += 1
            if n % 10 == 0:
                self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())


def rss_mb() -> float:
    """Current resident set size; the process peak (ru_maxrss) where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        scale = 2**20 if sys.platform == "darwin" else 2**10  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


async def _until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return False


class _Run:
    """One scale run: the sandbox, the database, the counters; engines come and go."""

    def __init__(self, tmp: Path, jobs: int) -> None:
        self.jobs = jobs
        self.sandbox = CountingSandbox()
        self.deliverer = CountingDeliverer()
        self.sampler = Sampler()
        self.database = tmp / "scale.sqlite3"
        self.resumed = 0
        self.rates: list[CountingRate] = []

    async def seed(self) -> float:
        store = await JobStore.open(self.database)
        started = time.perf_counter()
        try:
            await seed_running(store, self.sandbox, self.jobs, finish_in_s=3600)
        finally:
            await store.close()
        rng, now = random.Random(5), self.sandbox.clock()
        for sep in self.sandbox.separations.values():
            sep.finish_at = now + rng.uniform(*DURATION_S)  # counted from the engine's start
        return time.perf_counter() - started

    def settings(self, base_url: str) -> Settings:
        return make_settings(
            self.database, base_url, api_requests_per_s=RATE_PER_S,
            poll_min_interval_s=MIN_S, poll_max_interval_s=MAX_S, crun_timeout_s=10.0,
        )

    async def open_in_store(self) -> int:
        store = await JobStore.open(self.database)
        try:
            return len(await store.open_jobs())
        finally:
            await store.close()

    async def start_engine(self, base_url: str) -> tuple[Engine, float, float | None]:
        """A started engine; (it, seconds start() took, seconds to the first poll arriving)."""
        engine = await Engine.open(self.settings(base_url), self.deliverer)
        rate = engine.scheduler.rate = CountingRate(RATE_PER_S, engine.clock)
        self.rates.append(rate)
        seen = len(self.sandbox.arrivals)
        started = time.monotonic()
        await engine.start()
        start_s = time.monotonic() - started
        self.resumed = engine.scheduler.queue_size
        await _until(lambda: len(self.sandbox.arrivals) > seen, 5.0)
        arrivals = self.sandbox.arrivals[seen:]
        return engine, start_s, (arrivals[0] - started) if arrivals else None


@dataclass
class _Restart:
    """What the restart in the middle of a run showed."""

    open_in_store: int = 0
    resumed: int = 0
    start_s: float = 0.0
    first_poll_s: float | None = None
    delivered_before: set[int] = field(default_factory=set)
    arrivals_before: int = 0


async def _drive(run: _Run, base_url: str, first_phase_s: float, timeout_s: float) -> _Restart:
    """Run an engine for a while, restart it, and run the new one until all are delivered."""
    restart = _Restart()
    run.sampler.start()
    engine, _, _ = await run.start_engine(base_url)
    await asyncio.sleep(first_phase_s)
    await engine.close()
    restart.arrivals_before = len(run.sandbox.arrivals)
    restart.delivered_before = set(run.deliverer.counts)
    restart.open_in_store = await run.open_in_store()
    engine, restart.start_s, restart.first_poll_s = await run.start_engine(base_url)
    restart.resumed = run.resumed
    try:
        await _until(lambda: len(run.deliverer.counts) >= run.jobs, timeout_s)
        await asyncio.sleep(1.0)  # time for a duplicate delivery to show up
    finally:
        await engine.close()
        await run.sampler.stop()
    return restart


def _figures(run: _Run, seed_s: float, restart: _Restart) -> list[Figure]:
    jobs, counts, arrivals = run.jobs, run.deliverer.counts, run.sandbox.arrivals
    exactly_once = sum(1 for n in counts.values() if n == 1)
    repeated = [job_id for job_id, n in counts.items() if n > 1]
    # One rate per engine: a window across the restart would add two processes' requests.
    peak_taken = max(max_per_window(b.taken) for b in run.rates)
    split = restart.arrivals_before
    peak_rate = max(max_per_window(arrivals[:split]), max_per_window(arrivals[split:]))
    lag_p99 = percentile(run.sampler.lags_ms, 99)
    rss = max(run.sampler.peak_rss_mb, rss_mb())
    first_poll_s = restart.first_poll_s
    return [
        Figure(f"scale: {jobs} jobs, rate {RATE_PER_S:g}/s, seed s", seed_s, "s"),
        Figure("scale: max polls allowed in 1 s (rate)", peak_taken, "",
               f"<= {RATE_PER_S:g}", peak_taken <= RATE_PER_S),
        Figure("scale: max requests arriving in 1 s (API)", peak_rate, "",
               f"<= {RATE_PER_S:g}", peak_rate <= RATE_PER_S),
        Figure("scale: event-loop lag p99", lag_p99, "ms",
               f"<= {TARGET_LAG_MS:g} ms", lag_p99 <= TARGET_LAG_MS),
        Figure("scale: event-loop lag max", max(run.sampler.lags_ms, default=0.0), "ms"),
        Figure("scale: peak RSS (whole process, sampled)", rss, "MB",
               f"<= {TARGET_RSS_MB:g} MB", rss <= TARGET_RSS_MB),
        Figure("scale: jobs delivered exactly once", exactly_once, "", f"= {jobs}",
               exactly_once == jobs == len(counts)),
        Figure("scale: jobs delivered twice or more", len(repeated), "", "= 0", not repeated),
        Figure("scale:   of which handed over at restart",
               sum(1 for job_id in repeated if job_id in restart.delivered_before), ""),
        Figure(f"scale: restart resumed (of {restart.open_in_store} open)", restart.resumed, "",
               f"= {restart.open_in_store}", restart.resumed == restart.open_in_store),
        Figure("scale: restart, start() incl. resume", restart.start_s, "s",
               f"<= {TARGET_RESUME_S:g} s", restart.start_s <= TARGET_RESUME_S),
        Figure("scale: restart, first poll arrives after", first_poll_s or -1.0, "s",
               f"<= {TARGET_RESUME_S:g} s",
               first_poll_s is not None and first_poll_s <= TARGET_RESUME_S),
        Figure("scale: API requests per job", len(arrivals) / jobs, ""),
    ]


async def run() -> list[Figure]:
    jobs, first_phase_s, timeout_s = (1_000, 2.0, 60.0) if QUICK else (10_000, 4.0, 240.0)
    with tempfile.TemporaryDirectory() as tmp:
        run = _Run(Path(tmp), jobs)
        async with await serve(run.sandbox) as server:
            seed_s = await run.seed()
            restart = await _drive(run, server.base_url, first_phase_s, timeout_s)
    return _figures(run, seed_s, restart)


if __name__ == "__main__":
    print(table(asyncio.run(run())))
