"""Limits hold when requests race: the check and the charge are one transaction (issue 9, #2)."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import ApiError, UserError
from bot.jobs import Mode
from bot.rules import GuildRules, Member
from bot.sandbox import Fault
from bot.service import Limits, Outcome, Request, Submission
from tests._rig import Rig
from tests._sqlite import sqlite

TASK = "demo-music-task"
SONGS = ("demo-song-1", "demo-song-2")


def req(song: str, user: int, task: str = TASK) -> Request:
    return Request(task, song, Mode.VOCAL, guild_id=10, channel_id=20, user_id=user)


Results = list[Submission | BaseException]


async def race(rig: Rig, rules: GuildRules, asks: list[Request]) -> Results:
    """Every request sent at the same moment, each with the server's rules."""
    return await asyncio.gather(
        *(rig.engine.service.submit(r, limits=Limits(rules, Member(r.user_id or 0)))
          for r in asks),
        return_exceptions=True,
    )


def refusals(results: Results) -> list[str]:
    return [str(r) for r in results if isinstance(r, UserError)]


async def test_two_members_at_once_cannot_both_spend_the_servers_last_credit(rig: Rig) -> None:
    rules = GuildRules(budget_credits=1.0, cooldown_s=0)

    results = await race(rig, rules, [req(SONGS[0], user=1), req(SONGS[1], user=2)])

    [refused] = refusals(results)
    assert "credit budget is used up" in refused
    assert rig.sandbox.calls["CreateTask"] == 1
    assert await sqlite(rig.engine.store).scalar("SELECT SUM(credits) FROM ledger") == 1.0


async def test_one_member_cannot_pass_the_daily_limit_with_requests_sent_together(
    rig: Rig,
) -> None:
    rules = GuildRules(daily_user_limit=1, cooldown_s=0)

    results = await race(rig, rules, [req(SONGS[0], user=1), req(SONGS[1], user=1)])

    [refused] = refusals(results)
    assert "Daily limit reached" in refused
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_one_member_cannot_pass_the_open_jobs_limit_with_requests_sent_together(
    rig: Rig,
) -> None:
    rules = GuildRules(max_open_per_user=1, cooldown_s=0)

    results = await race(rig, rules, [req(SONGS[0], user=1), req(SONGS[1], user=1)])

    [refused] = refusals(results)
    assert "You already have 1 job running (the limit is 1)" in refused
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_the_cooldown_holds_for_requests_sent_together(rig: Rig) -> None:
    rules = GuildRules(cooldown_s=30)

    results = await race(rig, rules, [req(SONGS[0], user=1), req(SONGS[1], user=1)])

    [refused] = refusals(results)
    assert "Please wait between two jobs" in refused
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_a_refused_request_records_nothing(rig: Rig) -> None:
    rules = GuildRules(budget_credits=0.5)

    with pytest.raises(UserError, match="credit budget is used up"):
        await rig.engine.service.submit(req(SONGS[0], user=1), limits=Limits(rules, Member(1)))

    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM jobs") == 0
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 0
    assert rig.sandbox.calls["CreateTask"] == 0


async def test_a_request_arriving_as_a_failed_submission_lets_go_joins_not_pays_twice(
    rig: Rig,
) -> None:
    rig.sandbox.inject("CreateTask", Fault("code", code=402))
    first = asyncio.create_task(rig.engine.service.submit(req(SONGS[0], user=1)))
    waiting = asyncio.create_task(rig.engine.service.submit(req(SONGS[0], user=2)))
    with pytest.raises(ApiError):
        await first
    late = asyncio.create_task(rig.engine.service.submit(req(SONGS[0], user=3)))

    results = await asyncio.gather(waiting, late)

    assert sorted(r.outcome for r in results) == [Outcome.CREATED, Outcome.JOINED]
    assert results[0].job.id == results[1].job.id
    assert rig.sandbox.calls["CreateTask"] == 2  # the refused one, then one for both
