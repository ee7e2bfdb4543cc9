"""Races across processes, through each process's own SubmitService: two engines (two bot
processes, in one test) on one PostgreSQL database and one sandbox served over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.engine import Engine
from bot.errors import UserError
from bot.jobs import JobState, Mode
from bot.rules import GuildRules, Member
from bot.sandbox import Sandbox, serve
from bot.service import Request
from bot.service.followup import Viewer
from bot.service.request import Limits, Outcome, Submission
from tests._sandbox_fixtures import FakeClock
from tests.unit.scheduler._fleet import Fleet

TASK, SONG = "demo-music-task", "demo-song-1"
GUILD, CHANNEL = 1, 2
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HeldSandbox(Sandbox):
    """A sandbox that holds the first call to `held` (CreateTask unless a test says another)
    unanswered until the test lets it go."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.held = "/CreateTask"
        self.first_create_arrived = asyncio.Event()
        self.let_first_create_go = asyncio.Event()

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._hold)
        return app

    @web.middleware
    async def _hold(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith(self.held) and not self.first_create_arrived.is_set():
            self.first_create_arrived.set()
            await self.let_first_create_go.wait()
        return await handler(request)


@dataclass
class Pair:
    sandbox: HeldSandbox
    first: Engine  # process p0
    second: Engine  # process p1


@pytest.fixture
async def pair(tmp_path: Path, fresh_postgres_url: str, clock: FakeClock) -> AsyncIterator[Pair]:
    sandbox = HeldSandbox(clock=clock)
    async with await serve(sandbox) as server:
        fleet = Fleet(fresh_postgres_url, server.base_url, sandbox, clock, tmp_path)
        try:
            first, second = await fleet.open("p0"), await fleet.open("p1")
            await fleet.until_budget_shared()
            yield Pair(sandbox, first, second)
        finally:
            sandbox.let_first_create_go.set()
            for name in list(fleet.engines):
                await fleet.close(name)


def asked(user_id: int, song: str = SONG) -> Request:
    return Request(TASK, song, Mode.VOCAL, guild_id=GUILD, channel_id=CHANNEL, user_id=user_id)


async def test_two_processes_asked_for_one_song_at_once_make_one_paid_job(
    pair: Pair,
) -> None:
    sandbox, first, second = pair.sandbox, pair.first, pair.second
    sandbox.let_first_create_go.set()  # nothing held: the two meet in the database

    results = await asyncio.gather(first.service.submit(asked(3)), second.service.submit(asked(4)),
                                   return_exceptions=True)

    assert all(isinstance(r, Submission) for r in results), results
    subs = [r for r in results if isinstance(r, Submission)]
    assert sorted(s.outcome for s in subs) == sorted([Outcome.CREATED, Outcome.JOINED])
    assert subs[0].job.id == subs[1].job.id
    assert sandbox.calls["CreateTask"] == 1
    job = await first.store.get(subs[0].job.id)
    assert job is not None and job.state == JobState.RUNNING
    assert {s.user_id for s in await first.store.subscriptions(job.id)} == {3, 4}


async def test_a_song_asked_at_one_process_while_another_submits_it_joins_that_job(
    pair: Pair,
) -> None:
    sandbox, first, second = pair.sandbox, pair.first, pair.second
    submitting = asyncio.create_task(first.service.submit(asked(3)))
    await sandbox.first_create_arrived.wait()  # p0's CreateTask is at the API, unanswered

    joined = await second.service.submit(asked(4))
    sandbox.let_first_create_go.set()
    created = await submitting

    assert (created.outcome, joined.outcome) == (Outcome.CREATED, Outcome.JOINED)
    assert joined.job.id == created.job.id
    assert sandbox.calls["CreateTask"] == 1
    job = await second.store.get(created.job.id)
    assert job is not None and job.state == JobState.RUNNING
    assert {s.user_id for s in await second.store.subscriptions(job.id)} == {3, 4}


@pytest.mark.parametrize("at_second", ["cancel", "callback"])
async def test_a_submission_in_flight_at_another_process_is_never_settled_as_dead(
    pair: Pair, at_second: str,
) -> None:
    """While p0's CreateTask is at the API, p1 hears of the job (a joiner cancels there, or a
    callback reaches it): the job is left to p0, which records the API's answer."""
    sandbox, first, second = pair.sandbox, pair.first, pair.second
    submitting = asyncio.create_task(first.service.submit(asked(3)))
    await sandbox.first_create_arrived.wait()
    job = await second.store.get(1)
    assert job is not None and job.state == JobState.SUBMITTING

    if at_second == "cancel":
        await second.service.jobs.cancel(job, Viewer(user_id=4, guild_id=GUILD))
    else:
        assert not await second.service.jobs.on_callback(job, "some-task-id")
    sandbox.let_first_create_go.set()
    created = await submitting

    assert created.outcome == Outcome.CREATED
    ran = await first.store.get(created.job.id)
    assert ran is not None and ran.state == JobState.RUNNING and ran.remote_id is not None
    assert sandbox.calls["CreateTask"] == 1


async def test_a_song_finished_at_another_process_while_this_one_checked_it_is_reused(
    pair: Pair, clock: FakeClock,
) -> None:
    """p1 checks the song (its pre-flight is slow); meanwhile p0 is asked for the same song,
    pays, and its job finishes. p1 then reuses that result: it never pays a second time."""
    sandbox, first, second = pair.sandbox, pair.first, pair.second
    sandbox.held = "/TaskInfo"  # the first TaskInfo: p1's pre-flight
    checking = asyncio.create_task(second.service.submit(asked(4)))
    await sandbox.first_create_arrived.wait()
    made = await first.service.submit(asked(3))
    sandbox.finish(made.job.remote_id or "")
    for _ in range(60):
        done = await first.store.get(made.job.id)
        if done is not None and done.state == JobState.SUCCEEDED:
            break
        clock.advance(1.0)
        await first.scheduler.run_once()
        await first.scheduler.drain()

    sandbox.let_first_create_go.set()
    reused = await checking

    assert made.outcome == Outcome.CREATED and done is not None
    assert done.state == JobState.SUCCEEDED
    assert (reused.outcome, reused.job.id) == (Outcome.REUSED, made.job.id)
    assert sandbox.calls["CreateTask"] == 1


async def test_two_members_on_two_processes_racing_for_the_last_credit_make_one_paid_job(
    pair: Pair,
) -> None:
    sandbox, first, second = pair.sandbox, pair.first, pair.second
    sandbox.let_first_create_go.set()
    rules = GuildRules(budget_credits=1.0, cooldown_s=0)  # one vocal split's worth left

    def limits(user_id: int) -> Limits:
        return Limits(rules, Member(user_id))

    results = await asyncio.gather(
        first.service.submit(asked(3, "demo-song-1"), limits=limits(3)),
        second.service.submit(asked(4, "demo-song-2"), limits=limits(4)),
        return_exceptions=True)

    assert sorted(type(r).__name__ for r in results) == ["Submission", "UserError"]
    refusal = next(r for r in results if isinstance(r, UserError))
    assert "credit budget is used up" in str(refusal)
    assert sandbox.calls["CreateTask"] == 1
    assert len(await first.store.recent_jobs()) == 1
