"""Issue 11, failover: seconds from SIGKILL of one of three processes until its jobs are polled."""

# Its leases lapse (LEASE_S) and the two others claim them (CLAIM_LIMIT at a time, again
# CLAIM_AGAIN_S later while claims come back full).

from __future__ import annotations

import asyncio
import signal
import time

from bench._fleet import SKIP_LINE, Fleet, fleet, remote_of, until
from bench._rig import percentile
from bench.common import QUICK, Figure, table

RATE_PER_S = 200.0
LEASE_S = 15.0  # the default LEASE_S
POLL_MAX_S = 2.0  # POLL_MAX_INTERVAL_S of the children (bench._fleet.CHILD_ENV)
NAMES = ["p0", "p1", "p2"]
VICTIM = "p1"
IN_FLIGHT_S = 1.0  # a poll the victim sent just before it died may arrive just after


async def _steady(one: Fleet, timeout_s: float) -> None:
    """Every process is up and has polled; a few more seconds for their leases to renew."""
    await one.wait_started(NAMES)
    await until(lambda: all((s := one.last(n, "sample")) is not None and s["first_poll_at"]
                            for n in NAMES), timeout_s)
    await asyncio.sleep(LEASE_S / 3 + 1.0)


def _repolled(one: Fleet, remotes: set[str], after: float) -> dict[str, float]:
    """When each of `remotes` was first polled after `after`."""
    first: dict[str, float] = {}
    for at, remote in one.sandbox.polls:
        if at > after and remote in remotes and remote not in first:
            first[remote] = at
    return first


async def _run(jobs: int, timeout_s: float) -> list[Figure]:
    async with fleet() as one:
        if one is None:
            return []
        await one.seed(jobs, NAMES, RATE_PER_S)
        for name in NAMES:
            await one.start(name, RATE_PER_S, LEASE_S)
        await _steady(one, 120.0)
        held = await one.fetch("SELECT id FROM jobs WHERE lease_owner = $1 AND state = 'running'",
                               VICTIM)
        remotes = {remote_of(int(r["id"])) for r in held}
        killed_at = time.time()
        await one.stop(VICTIM, signal.SIGKILL)
        claims = asyncio.create_task(_watch_claims(one, [int(r["id"]) for r in held]))
        after = killed_at + IN_FLIGHT_S
        await until(lambda: len(_repolled(one, remotes, after)) == len(remotes), timeout_s)
        first = _repolled(one, remotes, after)
        leased = await _claimed(claims, killed_at)
        owners = await one.fetch("SELECT lease_owner, count(*) AS n FROM jobs"
                                 " WHERE state = 'running' GROUP BY lease_owner")
        await one.stop_all()
    delays = sorted(at - killed_at for at in first.values())
    left = {str(r["lease_owner"]): int(r["n"]) for r in owners}
    return _figures(jobs, len(remotes), delays, left, leased)


async def _watch_claims(one: Fleet, victims: list[int]) -> tuple[float, float]:
    """When the first and when the last of the dead process's jobs was leased by another."""
    first_at = None
    while True:
        [row] = await one.fetch("SELECT count(*) AS n FROM jobs WHERE id = ANY($1::bigint[])"
                                " AND lease_owner IS DISTINCT FROM $2", victims, VICTIM)
        now = time.time()
        first_at = now if first_at is None and row["n"] else first_at
        if first_at is not None and row["n"] == len(victims):
            return first_at, now
        await asyncio.sleep(0.25)


async def _claimed(claims: asyncio.Task[tuple[float, float]], killed_at: float
                   ) -> tuple[float, float]:
    try:
        first_at, all_at = await asyncio.wait_for(claims, 10.0)
    except TimeoutError:
        return -1.0, -1.0
    return first_at - killed_at, all_at - killed_at


def _figures(jobs: int, victims: int, delays: list[float], left: dict[str, int],
             leased: tuple[float, float]) -> list[Figure]:
    tag = f"failover 3p/{jobs}"
    # Under the budget each job is polled about every `cycle` s: one poll is that long here.
    cycle = max(POLL_MAX_S, jobs / RATE_PER_S)
    within = LEASE_S + cycle
    last = delays[-1] if len(delays) == victims and delays else -1.0
    first, earliest = (delays[0] if delays else -1.0), LEASE_S * 2 / 3
    return [
        Figure(f"{tag}: jobs of the killed process", victims, ""),
        Figure(f"{tag}: poll cycle (jobs / budget)", cycle, "s"),
        Figure(f"{tag}: first leased by another after", leased[0], "s", f">= {earliest:g} s",
               leased[0] >= earliest),
        Figure(f"{tag}: all leased by others after", leased[1], "s",
               f"<= {LEASE_S + POLL_MAX_S:g} s", 0 <= leased[1] <= LEASE_S + POLL_MAX_S),
        # Its last renewal was at most LEASE_S / 3 before the kill: nobody may poll earlier.
        Figure(f"{tag}: first polled again after kill", first, "s", f">= {earliest:g} s",
               first >= earliest),
        Figure(f"{tag}: half polled again after kill", percentile(delays, 50), "s"),
        Figure(f"{tag}: all polled again after kill", last, "s", f"<= {within:g} s",
               0 <= last <= within),
        Figure(f"{tag}: never polled again (timeout)", victims - len(delays), "", "= 0",
               len(delays) == victims),
        Figure(f"{tag}: leases still held by the dead", left.get(VICTIM, 0), "", "= 0",
               left.get(VICTIM, 0) == 0),
    ]


async def run() -> list[Figure]:
    jobs, timeout_s = (600, 60.0) if QUICK else (10_000, 240.0)
    figures = await _run(jobs, timeout_s)
    if not figures:
        print(f"bench.failover: {SKIP_LINE}")
    return figures


if __name__ == "__main__":
    print(table(asyncio.run(run())))
