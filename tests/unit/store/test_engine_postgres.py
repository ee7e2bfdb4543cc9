"""The whole engine on PostgreSQL: DATABASE_URL picks the backend, and a job runs to delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.database_url import DatabaseUrl
from bot.engine import Engine
from bot.jobs import JobState, Mode
from bot.rules import GuildRules, Member
from bot.sandbox import SandboxServer
from bot.service import Limits, Request
from bot.store.postgres import PgStore
from tests._rig import Recorder, Rig, state, submit
from tests._sandbox_fixtures import FakeClock
from tests._settings import make_settings


@pytest.fixture
async def pg_rig(
    tmp_path: Path, fresh_pg: str, clock: FakeClock, sandbox_server: SandboxServer
) -> AsyncIterator[Rig]:
    settings = make_settings(tmp_path / "unused.sqlite3", sandbox_server.base_url,
                             database_url=DatabaseUrl(fresh_pg))
    recorder = Recorder()
    engine = await Engine.open(settings, recorder, clock=clock)
    await engine.scheduler.resume()
    rig = Rig(engine, sandbox_server.sandbox, clock, recorder, settings)
    while engine.rate.polls_held_until > clock():  # new to the shared budget: calls wait
        await rig.advance(0.5)
    try:
        yield rig
    finally:
        await engine.close()


async def test_a_job_runs_to_its_delivery_on_postgresql(pg_rig: Rig, tmp_path: Path) -> None:
    job_id = await submit(pg_rig)
    await pg_rig.advance(120, step=5)

    assert isinstance(pg_rig.engine.store, PgStore)
    assert not (tmp_path / "unused.sqlite3").exists()
    assert await state(pg_rig, job_id) == JobState.SUCCEEDED
    assert pg_rig.recorder.delivered_job_ids() == [job_id]
    assert pg_rig.sandbox.calls["CreateTask"] == 1


async def test_two_members_at_once_cannot_both_spend_the_servers_last_credit_on_postgresql(
    pg_rig: Rig,
) -> None:
    rules = GuildRules(budget_credits=1.0, cooldown_s=0)
    asks = [Request("demo-music-task", song, Mode.VOCAL, guild_id=10, channel_id=20, user_id=user)
            for song, user in (("demo-song-1", 1), ("demo-song-2", 2))]

    results = await asyncio.gather(
        *(pg_rig.engine.service.submit(r, limits=Limits(rules, Member(r.user_id or 0)))
          for r in asks),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["Submission", "UserError"]
    assert pg_rig.sandbox.calls["CreateTask"] == 1
    assert await pg_rig.engine.store.spent(10, since=0) == 1.0
