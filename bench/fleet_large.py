"""Issue 11, 100,000 open jobs over three processes: RSS per process and restart resume time."""

from __future__ import annotations

import asyncio
import signal
import time

from bench._fleet import SKIP_LINE, Fleet, fleet, until
from bench.common import QUICK, Figure, table

RATE_PER_S = 200.0
LEASE_S = 15.0
NAMES = ["p0", "p1", "p2"]
RESTARTED = "p1"
TARGET_RSS_MB = 200.0
TARGET_RESUME_S = 2.0  # bench/scale.py's target for one process's restart


async def _restart(one: Fleet, timeout_s: float) -> tuple[float, dict[str, float]]:
    """SIGKILL the process and start it again at once (its leases have not lapsed): seconds
    from the new spawn to its start() returning and to its first poll; jobs it resumed."""
    await one.stop(RESTARTED, signal.SIGKILL)
    before = len(one.events(RESTARTED, "started"))
    spawned = time.time()
    await one.start(RESTARTED, RATE_PER_S, LEASE_S)
    await until(lambda: len(one.events(RESTARTED, "started")) > before, timeout_s)
    await until(lambda: _first_poll(one) is not None, 30.0)
    started = one.events(RESTARTED, "started")[-1]
    first_poll = _first_poll(one)
    return spawned, {
        "start_s": float(started["start_s"]),
        "up_s": float(started["at"]) - spawned,
        "first_poll_s": (first_poll - spawned) if first_poll is not None else -1.0,
        "resumed": float(started["resumed"]),
    }


def _first_poll(one: Fleet) -> float | None:
    """The restarted process's first poll (its samples after its last start)."""
    sample = one.last(RESTARTED, "sample")
    started = one.events(RESTARTED, "started")
    if sample is None or not started or sample["at"] < started[-1]["at"]:
        return None
    at = sample["first_poll_at"]
    return float(at) if at is not None else None


async def _run(jobs: int, run_s: float, timeout_s: float) -> list[Figure]:
    async with fleet() as one:
        if one is None:
            return []
        seeded = time.perf_counter()
        await one.seed(jobs, NAMES, RATE_PER_S)
        seed_s = time.perf_counter() - seeded
        for name in NAMES:
            await one.start(name, RATE_PER_S, LEASE_S)
        await one.wait_started(NAMES, timeout_s)
        first = {name: one.events(name, "started")[-1] for name in NAMES}
        await asyncio.sleep(run_s)
        samples = {name: one.last(name, "sample") or {} for name in NAMES}
        _, restart = await _restart(one, timeout_s)
        await one.stop_all()
    return _figures(jobs, seed_s, first, samples, restart)


def _figures(jobs: int, seed_s: float, first: dict[str, dict[str, float]],
             samples: dict[str, dict[str, float]], restart: dict[str, float]) -> list[Figure]:
    tag = f"large 3p/{jobs}"
    figures = [Figure(f"{tag}: seed (SQL, one statement) s", seed_s, "s")]
    for name in NAMES:
        rss = float(samples[name].get("rss_mb", -1.0))
        figures += [
            Figure(f"{tag} {name}: resumed at 1st start", first[name]["resumed"], ""),
            Figure(f"{tag} {name}: 1st start() incl. resume", first[name]["start_s"], "s"),
            Figure(f"{tag} {name}: peak RSS", rss, "MB", f"<= {TARGET_RSS_MB:g} MB",
                   0 <= rss <= TARGET_RSS_MB),
            Figure(f"{tag} {name}: event-loop lag p99",
                   float(samples[name].get("lag_p99_ms", -1.0)), "ms"),
        ]
    tag = f"large 3p/{jobs} {RESTARTED} kill+restart"
    figures += [
        Figure(f"{tag}: resumed", restart["resumed"], ""),
        Figure(f"{tag}: start()", restart["start_s"], "s", f"<= {TARGET_RESUME_S:g} s",
               0 <= restart["start_s"] <= TARGET_RESUME_S),
        Figure(f"{tag}: spawn to started", restart["up_s"], "s"),
        Figure(f"{tag}: spawn to 1st poll", restart["first_poll_s"], "s"),
    ]
    return figures


async def run() -> list[Figure]:
    jobs, run_s, timeout_s = (5_000, 5.0, 60.0) if QUICK else (100_000, 20.0, 300.0)
    figures = await _run(jobs, run_s, timeout_s)
    if not figures:
        print(f"bench.fleet_large: {SKIP_LINE}")
    return figures


if __name__ == "__main__":
    print(table(asyncio.run(run())))
