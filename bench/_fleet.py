"""The fleet benchmarks' rig: a throwaway PostgreSQL, a sandbox noting polls, bot processes."""

# Jobs are seeded leased round-robin to named processes with their heartbeats, as a running fleet
# leaves them; each process is bench._fleet_child, started and stopped by name.

from __future__ import annotations

import asyncio
import heapq
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from bench._rig import SEED_TASK, CountingSandbox
from bot.database_url import DatabaseUrl
from bot.jobs import Mode, RemoteState
from bot.sandbox import SandboxSeparation, serve
from bot.store import open_store
from tests import _postgres as pg
from tests._settings import make_settings

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-0123456789"
SEED_LEASE_S = 120.0  # seeded leases outlast the children's start; each renews its own at once
CHILD_ENV = {"CRUN_TIMEOUT_S": "10", "POLL_MIN_INTERVAL_S": "0.5", "POLL_MAX_INTERVAL_S": "2.0",
             "LOG_LEVEL": "warning"}  # the polling of bench/scale.py


class FleetSandbox(CountingSandbox):
    """The sandbox, noting each TaskInfo (wall clock, task id); due work kept in a heap (the
    base class scans every separation on each request: too slow for 100,000)."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[tuple[float, str]] = []
        self._finishing: list[tuple[float, str]] = []

    def finish_at(self, remote_id: str, at: float) -> None:
        self.separations[remote_id].finish_at = at
        heapq.heappush(self._finishing, (at, remote_id))

    def due(self) -> list[str]:
        now, ended = self.clock(), []
        while self._finishing and self._finishing[0][0] <= now:
            at, remote_id = heapq.heappop(self._finishing)
            sep = self.separations[remote_id]
            if sep.state is RemoteState.RUNNING and sep.finish_at == at:
                self._end(sep, True, "", at)
                ended.append(remote_id)
        return ended

    async def _task_info(self, request: web.Request) -> web.StreamResponse:
        self.polls.append((time.time(), request.query.get("task_id", "")))
        return await super()._task_info(request)


async def until(condition: Callable[[], bool], timeout_s: float, every_s: float = 0.5) -> bool:
    """Look every `every_s` until `condition` holds (True) or `timeout_s` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(every_s)
    return False


def remote_of(job_id: int) -> str:
    return f"sep-bench-{job_id}"


class Fleet:
    """One database, one sandbox, and the bot processes started on them (by name)."""

    def __init__(self, dsn: str, sandbox: FleetSandbox, base_url: str, tmp: Path) -> None:
        self.dsn, self.sandbox, self.base_url, self.tmp = dsn, sandbox, base_url, tmp
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    async def seed(self, jobs: int, owners: list[str], requests_per_s: float) -> None:
        """`jobs` running jobs leased round-robin to `owners`, as a running fleet left them (with
        its heartbeats), each with a separation at the sandbox that runs for an hour."""
        settings = make_settings(self.tmp / "unused.sqlite3", self.base_url,
                                 database_url=DatabaseUrl(self.dsn),
                                 api_requests_per_s=requests_per_s)
        await (await open_store(settings)).close()  # the schema
        now = time.time()
        db = await asyncpg.connect(self.dsn)
        try:
            await db.execute(
                "INSERT INTO jobs (id, music_task_id, song_id, mode, state, guild_id, channel_id,"
                " requester_id, remote_id, created_at, submitted_at, lease_owner, lease_until)"
                " SELECT g, $1, 'seed-song-' || g, 'vocal', 'running', 1, 1, 999,"
                " 'sep-bench-' || g, $2, $2, ($3::text[])[1 + g % $4], $5"
                " FROM generate_series(1, $6) g",
                SEED_TASK, now, owners, len(owners), now + SEED_LEASE_S, jobs)
            await db.execute("SELECT setval(pg_get_serial_sequence('jobs', 'id'), $1)", jobs)
            await db.execute(
                "INSERT INTO subscriptions (job_id, user_id, guild_id, channel_id, created_at)"
                " SELECT g, 999, 1, 1, $1 FROM generate_series(1, $2) g", now, jobs)
            await db.executemany("INSERT INTO processes (name, seen_at) VALUES ($1, $2)",
                                 [(name, now) for name in owners])
        finally:
            await db.close()
        for job_id in range(1, jobs + 1):
            self.sandbox.separations[remote_of(job_id)] = SandboxSeparation(
                remote_of(job_id), SEED_TASK, f"seed-song-{job_id}", Mode.VOCAL, now,
                now + 3600, None, 1.0)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        db = await asyncpg.connect(self.dsn)
        try:
            return list(await db.fetch(sql, *args))
        finally:
            await db.close()

    def out(self, name: str) -> Path:
        return self.tmp / f"{name}.jsonl"

    async def start(self, name: str, requests_per_s: float, lease_s: float = 15.0) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CRUN_", "POLL_", "DATABASE_", "API_", "LEASE_"))}
        env.update(CHILD_ENV)
        env.update({"DATABASE_URL": self.dsn, "PROCESS_NAME": name, "LEASE_S": str(lease_s),
                    "CRUN_API_BASE": self.base_url, "CRUN_API_KEY": KEY,
                    "API_REQUESTS_PER_S": str(requests_per_s),
                    "BENCH_FLEET_OUT": str(self.out(name))})
        with (self.tmp / f"{name}.log").open("ab") as err:
            self.procs[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench._fleet_child", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=err)

    def events(self, name: str, event: str) -> list[dict[str, Any]]:
        path = self.out(name)
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [e for line in lines if line.endswith("}")
                and (e := json.loads(line))["ev"] == event]

    def last(self, name: str, event: str) -> dict[str, Any] | None:
        found = self.events(name, event)
        return found[-1] if found else None

    async def wait_started(self, names: list[str], timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not all(len(self.events(n, "started")) > 0 for n in names):
            for name in names:
                proc = self.procs[name]
                if proc.returncode is not None:
                    raise RuntimeError(f"{name} exited: {self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not started: {names}")
            await asyncio.sleep(0.1)

    def log_tail(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-2000:]

    def delivered(self) -> Counter[int]:
        return Counter(int(e["job"]) for name in self.procs
                       for e in self.events(name, "delivered"))

    async def stop(self, name: str, how: signal.Signals = signal.SIGTERM) -> None:
        proc = self.procs[name]
        if proc.returncode is None:
            proc.send_signal(how)
            try:
                await asyncio.wait_for(proc.wait(), 30.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in self.procs))


@asynccontextmanager
async def fleet() -> AsyncIterator[Fleet | None]:
    """A fresh database on a throwaway cluster, and the sandbox; None without PostgreSQL."""
    bin_dir = pg.find_bin_dir()
    if bin_dir is None:
        yield None
        return
    port = 20000 + secrets.randbelow(20000)  # apart from the tests' clusters
    with pg.cluster(bin_dir, port) as cluster:
        dsn = await pg.create_database(cluster, "fleet_bench")
        sandbox = FleetSandbox()
        async with await serve(sandbox) as server:
            with tempfile.TemporaryDirectory() as tmp:
                one = Fleet(dsn, sandbox, server.base_url, Path(tmp))
                try:
                    yield one
                finally:
                    await one.stop_all()


SKIP_LINE = "no PostgreSQL binaries (initdb, pg_ctl) found: skipped"
