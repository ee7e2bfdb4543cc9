"""Issue 11, shared polling: 1, 2 and 3 processes on one PostgreSQL, one request budget."""

# Figures: the API's worst second, delivery delay, and RSS and event-loop lag per process.

from __future__ import annotations

import asyncio
import random
import time

from bench._fleet import SKIP_LINE, Fleet, fleet, remote_of, until
from bench._rig import max_per_window, percentile
from bench.common import QUICK, Figure, table

RATE_PER_S = 200.0  # API_REQUESTS_PER_S for the whole fleet (bench/scale.py's, for one process)
# Each separation runs this long at the sandbox, uniform (as scale.py; shorter in a quick run).
DURATION_S = (1.0, 10.0) if QUICK else (2.0, 40.0)
TARGET_LAG_MS = 50.0
TARGET_RSS_MB = 200.0
PROCESSES = (1, 2, 3)


async def _until_delivered(one: Fleet, jobs: int, timeout_s: float) -> None:
    await until(lambda: len(one.delivered()) >= jobs, timeout_s)
    await asyncio.sleep(1.0)  # time for a duplicate delivery to show up


async def _run(processes: int, jobs: int, timeout_s: float) -> list[Figure]:
    async with fleet() as one:
        if one is None:
            return []
        names = [f"p{n}" for n in range(processes)]
        await one.seed(jobs, names, RATE_PER_S)
        for name in names:
            await one.start(name, RATE_PER_S)
        await one.wait_started(names)
        rng, started = random.Random(11), time.time()
        finish = {job_id: started + rng.uniform(*DURATION_S) for job_id in range(1, jobs + 1)}
        for job_id, at in finish.items():
            one.sandbox.finish_at(remote_of(job_id), at)
        await _until_delivered(one, jobs, timeout_s)
        await one.stop_all()
        return _figures(one, processes, jobs, finish, started)


def _first_deliveries(one: Fleet) -> dict[int, float]:
    first: dict[int, float] = {}
    for name in one.procs:
        for event in one.events(name, "delivered"):
            job_id = int(event["job"])
            first[job_id] = min(first.get(job_id, event["at"]), event["at"])
    return first


def _figures(one: Fleet, processes: int, jobs: int, finish: dict[int, float],
             started: float) -> list[Figure]:
    tag = f"fleet {processes}p/{jobs}"
    counts, first = one.delivered(), _first_deliveries(one)
    delays = [at - finish[job_id] for job_id, at in first.items()]
    worst = max_per_window(one.sandbox.arrivals)
    figures = [
        Figure(f"{tag}: API requests in worst 1 s", worst, "",
               f"<= {RATE_PER_S:g}", worst <= RATE_PER_S),
        Figure(f"{tag}: delivery delay p50 (done->posted)", percentile(delays, 50), "s"),
        Figure(f"{tag}: delivery delay p99", percentile(delays, 99), "s"),
        Figure(f"{tag}: last delivered, after start", max(first.values(), default=0.0)
               - started, "s"),
        Figure(f"{tag}: jobs delivered", len(counts), "", f"= {jobs}", len(counts) == jobs),
        Figure(f"{tag}: jobs delivered twice or more", sum(1 for n in counts.values() if n > 1),
               "", "= 0", all(n == 1 for n in counts.values())),
    ]
    for name in sorted(one.procs):
        sample = one.last(name, "sample") or {"rss_mb": -1.0, "lag_p99_ms": -1.0, "polls": 0}
        rss, lag = float(sample["rss_mb"]), float(sample["lag_p99_ms"])
        figures += [
            Figure(f"{tag} {name}: peak RSS", rss, "MB", f"<= {TARGET_RSS_MB:g} MB",
                   0 <= rss <= TARGET_RSS_MB),
            Figure(f"{tag} {name}: event-loop lag p99", lag, "ms", f"<= {TARGET_LAG_MS:g} ms",
                   0 <= lag <= TARGET_LAG_MS),
            Figure(f"{tag} {name}: polls sent", float(sample["polls"]), ""),
        ]
    return figures


async def run() -> list[Figure]:
    jobs, timeout_s = (1_000, 90.0) if QUICK else (10_000, 420.0)
    figures: list[Figure] = []
    for processes in PROCESSES:
        found = await _run(processes, jobs, timeout_s)
        if not found:
            print(f"bench.fleet: {SKIP_LINE}")
            return []
        figures += found
    return figures


if __name__ == "__main__":
    print(table(asyncio.run(run())))
