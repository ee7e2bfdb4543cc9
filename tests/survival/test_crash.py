"""Campaign 1: SIGKILL the engine's process at a random moment, restart it, and count the damage."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.sandbox import serve
from tests._sandbox_fixtures import KEY, serving
from tests.survival._campaign import CampaignReport, report, size
from tests.survival._sandbox import WatchedSandbox

ROOT = Path(__file__).resolve().parents[2]
JOBS_PER_ROUND = 20
ROUNDS = size(2, 50)
CHILD_TIMEOUT_S = 30.0


@dataclass
class Recorder:
    """The parent's stand-in for Discord: drops a resent nonce as Discord does (enforce_nonce)."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    kill_at_post: int | None = None  # SIGKILL the child as this post (1-based) arrives
    child: asyncio.subprocess.Process | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)  # every send, resends included
    shown: list[dict[str, Any]] = field(default_factory=list)  # what users actually saw
    accepted: dict[int, int] = field(default_factory=dict)  # user id -> job id
    refused: dict[int, str] = field(default_factory=dict)

    def app(self) -> web.Application:
        async def started(request: web.Request) -> web.Response:
            self.started.set()
            return web.Response(text="ok")

        async def deliver(request: web.Request) -> web.Response:
            body = await request.json()
            self.posts.append(body)
            if all(seen["nonce"] != body["nonce"] for seen in self.shown):
                self.shown.append(body)
            if len(self.posts) == self.kill_at_post and self.child is not None:
                # Posted, and the child dies before it can record that it did.
                self.child.send_signal(signal.SIGKILL)
            return web.Response(text="ok")

        async def accepted(request: web.Request) -> web.Response:
            body = await request.json()
            self.accepted[body["user_id"]] = body["job_id"]
            return web.Response(text="ok")

        async def refused(request: web.Request) -> web.Response:
            body = await request.json()
            self.refused[body["user_id"]] = body["text"]
            return web.Response(text="ok")

        app = web.Application()
        for path, handler in (("/started", started), ("/deliver", deliver),
                              ("/accepted", accepted), ("/refused", refused)):
            app.router.add_post(path, handler)
        return app


@dataclass
class Round:
    seed: int
    db: Path
    sandbox: WatchedSandbox
    sandbox_url: str
    recorder: Recorder
    recorder_url: str
    songs: list[tuple[str, str, int]]  # (music task, song, requester)


@asynccontextmanager
async def open_round(tmp_path: Path, seed: int) -> AsyncIterator[Round]:
    rng = random.Random(seed)
    sandbox = WatchedSandbox(duration_s=lambda mode: rng.uniform(0.2, 1.2), seed=seed,
                             create_delay_s=0.1)
    songs = []
    for index in range(JOBS_PER_ROUND):
        music_task_id = f"crash-task-{index}"
        sandbox.add_music_task(music_task_id, [(f"song-{index}", f"Song {index}")])
        songs.append((music_task_id, f"song-{index}", 5000 + index))
    recorder = Recorder()
    async with await serve(sandbox) as server, serving(recorder.app()) as recorder_url:
        yield Round(seed, tmp_path / f"round-{seed}.sqlite3", sandbox, server.base_url,
                    recorder, recorder_url, songs)


def child_env(rnd: Round, songs: list[tuple[str, str, int]], *, settle: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRUN_", "POLL_", "SURVIVE_"))}
    env.update({
        "DATABASE_PATH": str(rnd.db), "CRUN_API_BASE": rnd.sandbox_url, "CRUN_API_KEY": KEY,
        "CRUN_TIMEOUT_S": "5", "POLL_MIN_INTERVAL_S": "0.1", "POLL_MAX_INTERVAL_S": "0.3",
        "API_REQUESTS_PER_S": "50", "LOG_LEVEL": "warning",
        "SURVIVE_RECORDER": rnd.recorder_url, "SURVIVE_SEED": str(rnd.seed),
        "SURVIVE_SONGS": ",".join(f"{t}:{s}:{u}" for t, s, u in songs),
        "SURVIVE_SETTLE": "1" if settle else "0",
    })
    return env


async def start_child(rnd: Round, songs: list[tuple[str, str, int]], *, settle: bool,
                      log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.survival._child", cwd=ROOT,
            env=child_env(rnd, songs, settle=settle),
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )


def db_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


def snapshot(db: Path) -> Counter[str]:
    """What the kill interrupted: jobs by state, and ended jobs whose requester was not yet told."""
    by_state = db_rows(db, "SELECT state, COUNT(*) FROM jobs GROUP BY state")
    states: Counter[str] = Counter(dict(by_state))
    states["undelivered"] = db_rows(
        db, "SELECT COUNT(*) FROM subscriptions WHERE delivery = 'pending'")[0][0]
    return states


@dataclass
class Damage:
    lost: int = 0
    duplicates: int = 0
    double_charges: int = 0
    resends: int = 0  # posts after a crash that Discord dropped by their nonce
    charged_unknown: int = 0  # interrupted jobs the API did create (and charge)


def assess(rnd: Round) -> Damage:
    """Check the round's invariants; return the counts the report row sums."""
    assert db_rows(rnd.db, "PRAGMA integrity_check") == [("ok",)]
    jobs = {row[0]: row[1:] for row in db_rows(
        rnd.db, "SELECT id, state, song_id, remote_id, requester_id FROM jobs")}
    shown = Counter((m["job_id"], m["user_id"]) for m in rnd.recorder.shown)
    charged = Counter(body["input"]["suno_id"] for body in rnd.sandbox.create_requests)
    damage = Damage(
        duplicates=sum(n - 1 for n in shown.values()),
        double_charges=sum(n - 1 for n in charged.values()),
        resends=len(rnd.recorder.posts) - len(rnd.recorder.shown),
    )
    for job_id, (state, song_id, remote_id, user_id) in jobs.items():
        told = [m for m in rnd.recorder.shown if m["job_id"] == job_id]
        ok = state == "succeeded" or (state == "interrupted" and remote_id is None)
        if not ok or len(told) != 1 or told[0]["state"] != state or told[0]["user_id"] != user_id:
            damage.lost += 1
        if remote_id is not None:
            assert charged[song_id] == 1, f"job {job_id} is running but was never created"
    for job_id in rnd.recorder.accepted.values():
        assert jobs[job_id][0] == "succeeded", f"accepted job {job_id} ended {jobs[job_id][0]}"
    requested = {user for _, _, user in rnd.songs}
    assert {row[3] for row in jobs.values()} == requested, "a request left no job behind"
    assert not rnd.recorder.refused, rnd.recorder.refused
    # CreateTask calls == unique jobs, except submissions the kill cut before the call went out.
    assert set(charged) <= {row[1] for row in jobs.values()}
    interrupted = sum(1 for row in jobs.values() if row[0] == "interrupted")
    damage.charged_unknown = sum(
        1 for row in jobs.values() if row[0] == "interrupted" and charged[row[1]])
    assert len(jobs) - interrupted <= sum(charged.values()) <= len(jobs)
    return damage


async def run_round(rnd: Round, tmp_path: Path) -> tuple[Counter[str], Damage]:
    rng = random.Random(rnd.seed)
    log = tmp_path / f"child-{rnd.seed}.log"
    first = await start_child(rnd, rnd.songs, settle=False, log=log)
    rnd.recorder.child = first
    if rnd.seed % 2:  # odd rounds: mid-delivery, between a post and its record
        rnd.recorder.kill_at_post = rng.randint(1, JOBS_PER_ROUND // 2)
    try:
        async with asyncio.timeout(CHILD_TIMEOUT_S):
            await rnd.recorder.started.wait()
            if rnd.recorder.kill_at_post is None:
                await asyncio.sleep(rng.uniform(0.1, 1.4))
            else:
                await first.wait()
    finally:
        if first.returncode is None:
            first.send_signal(signal.SIGKILL)
        await first.wait()
    rnd.recorder.child = None
    at_kill = snapshot(rnd.db)
    known = {row[0] for row in db_rows(rnd.db, "SELECT requester_id FROM jobs")}
    rest = [song for song in rnd.songs if song[2] not in known]  # never reached the database
    second = await start_child(rnd, rest, settle=True, log=log)
    try:
        async with asyncio.timeout(CHILD_TIMEOUT_S):
            code = await second.wait()
    finally:
        if second.returncode is None:
            second.send_signal(signal.SIGKILL)
            await second.wait()
    assert code == 0, log.read_text()
    return at_kill, assess(rnd)


@pytest.mark.campaign
@pytest.mark.timeout(600)
async def test_sigkill_at_a_random_moment_loses_nothing_repeats_nothing_charges_once(
    tmp_path: Path,
) -> None:
    base = int(os.environ.get("STEMBOT_SEED", random.SystemRandom().randrange(1, 10**6)))
    seeds = [base + n for n in range(ROUNDS)]
    print(f"\n[crash] seeds {seeds[0]}..{seeds[-1]} (STEMBOT_SEED={base} to replay)")
    total, states = Damage(), Counter[str]()
    for seed in seeds:
        async with open_round(tmp_path, seed) as rnd:
            at_kill, damage = await run_round(rnd, tmp_path)
        print(f"[crash] seed {seed}: at kill {dict(at_kill)}; resends dropped by nonce "
              f"{damage.resends}")
        states.update(at_kill)
        for name in ("lost", "duplicates", "double_charges", "resends", "charged_unknown"):
            setattr(total, name, getattr(total, name) + getattr(damage, name))
    report(CampaignReport("crash-restart", ROUNDS * JOBS_PER_ROUND, ROUNDS, total.lost,
                          total.duplicates, total.double_charges, f"{seeds[0]}..{seeds[-1]}"))
    print(f"[crash] states at kill, all rounds: {dict(states)}; {total}")
    assert (total.lost, total.duplicates, total.double_charges) == (0, 0, 0)
