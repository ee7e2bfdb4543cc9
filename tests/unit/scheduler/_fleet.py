"""Several engines (processes, in one test) on one PostgreSQL database, one sandbox, one fake
clock: each with its own PROCESS_NAME and recorder; what each polled, and when each stopped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.api import Separation
from bot.database_url import DatabaseUrl
from bot.engine import Engine
from bot.jobs import JobState, Mode
from bot.sandbox import Sandbox
from bot.service import Request
from tests._rig import Recorder, moving_time_for_places
from tests._sandbox_fixtures import FakeClock
from tests._settings import make_settings

MUSIC_TASK = "fleet-music-task"
REQUESTS_PER_S = 6.0
LEASE_S = 15.0
POLL_MAX_S = 4.0


@dataclass
class Fleet:
    dsn: str
    base_url: str
    sandbox: Sandbox
    clock: FakeClock
    tmp_path: Path
    engines: dict[str, Engine] = field(default_factory=dict)
    recorders: dict[str, Recorder] = field(default_factory=dict)
    polls: list[tuple[float, str, str]] = field(default_factory=list)  # (at, process, remote)
    stops: list[tuple[float, str]] = field(default_factory=list)  # (at, process)

    async def open(self, name: str) -> Engine:
        settings = make_settings(
            self.tmp_path / "unused.sqlite3", self.base_url, database_url=DatabaseUrl(self.dsn),
            process_name=name, api_requests_per_s=REQUESTS_PER_S, lease_s=LEASE_S,
            poll_min_interval_s=1.0, poll_max_interval_s=POLL_MAX_S,
        )
        recorder = self.recorders.setdefault(name, Recorder())
        engine = await Engine.open(settings, recorder, clock=self.clock)
        self._watch_polls(engine, name)
        await engine.store.listen_wakes(engine.scheduler.wake)
        await engine.scheduler.resume()
        self.engines[name] = engine
        return engine

    def _watch_polls(self, engine: Engine, name: str) -> None:
        separation = engine.api.separation

        async def watched(remote_id: str) -> Separation:
            self.polls.append((self.clock(), name, remote_id))
            return await separation(remote_id)

        engine.api.separation = watched  # type: ignore[method-assign]

    async def close(self, name: str) -> None:
        """A clean stop: polls finish, leases are released."""
        self.stops.append((self.clock(), name))
        await self.engines.pop(name).close()

    async def kill(self, name: str) -> None:
        """An abrupt death: nothing is released, its pool and session just go away."""
        self.stops.append((self.clock(), name))
        engine = self.engines.pop(name)
        await engine.store.close()
        await engine.session.close()

    async def settle(self) -> None:
        for engine in list(self.engines.values()):
            self.sandbox.due()
            await engine.scheduler.run_once()
            await engine.scheduler.drain()

    async def advance(self, seconds: float, step: float = 0.5) -> None:
        moved = 0.0
        while moved < seconds:
            self.clock.advance(step)
            moved += step
            await self.settle()

    async def until_budget_shared(self) -> None:
        """Move time on until no process holds its calls any more: one that just joined the
        budget waits for the others to shrink their shares (members' calls too)."""
        while any(e.rate.polls_held_until > self.clock() for e in self.engines.values()):
            await self.advance(0.5)

    async def submit_spread(self, jobs: int) -> list[int]:
        """`jobs` songs, asked for at each process in turn (once the budget is shared)."""
        await self.until_budget_shared()
        self.sandbox.add_music_task(MUSIC_TASK, [(f"song-{n}", f"Song {n}") for n in range(jobs)])
        names, ids = sorted(self.engines), []
        for n in range(jobs):
            engine = self.engines[names[n % len(names)]]
            request = Request(MUSIC_TASK, f"song-{n}", Mode.VOCAL, 100 + n % 12, 2, 3 + n)
            submission = await moving_time_for_places(
                engine.service.submit(request), lambda: [e.rate for e in self.engines.values()],
                lambda s: self.advance(s, step=s))
            ids.append(submission.job.id)
        return ids

    async def until_all_end(self, ids: list[int], limit_s: float = 400.0) -> None:
        waited = 0.0
        while waited < limit_s and await self.open_count(ids):
            await self.advance(2.0)
            waited += 2.0
        await self.advance(2.0)  # the last deliveries

    async def open_count(self, ids: list[int]) -> int:
        store = next(iter(self.engines.values())).store
        jobs = [await store.get(job_id) for job_id in ids]
        return sum(1 for job in jobs if job is not None and not job.state.is_terminal)

    async def states(self, ids: list[int]) -> Counter[JobState]:
        store = next(iter(self.engines.values())).store
        jobs = [await store.get(job_id) for job_id in ids]
        return Counter(job.state for job in jobs if job is not None)

    def deliveries(self) -> Counter[int]:
        """How many times each job's result was handed to a poster, across all processes."""
        return Counter(job.id for rec in self.recorders.values() for job, _ in rec.calls)

    def worst_second(self) -> int:
        """The most requests (of every endpoint, CreateTask too) the API saw in any one-second
        window."""
        times = sorted(at for at, _ in self.sandbox.request_log)
        return max((sum(1 for t in times if start <= t < start + 1) for start in times),
                   default=0)

    def overlapping_polls(self) -> list[str]:
        """Jobs polled by a second process while the first was still running (not stopped in
        between): the one thing leases forbid."""
        bad, last = [], dict[str, tuple[float, str]]()
        for at, name, remote in sorted(self.polls):
            before = last.get(remote)
            if before is not None and before[1] != name and not any(
                who == before[1] and before[0] <= when <= at for when, who in self.stops
            ):
                bad.append(remote)
            last[remote] = (at, name)
        return bad
