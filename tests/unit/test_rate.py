"""The request rate: a place counts until one window after its reply; user-triggered calls
(pre-flight, autocomplete, Refresh) take it ahead of polls; a finished music task's songs are asked
for once; Refresh and lookups have a per-member cooldown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from bot.jobs import Mode
from bot.rate import RequestRate
from bot.service import Request
from bot.songs import Cooldown, try_again_in
from tests._rig import Rig, submit
from tests._sandbox_fixtures import FakeClock


@pytest.mark.parametrize(("rate_per_s", "capacity", "window_s"), [
    (5.0, 5, 1.0), (2.7, 2, 1.0), (0.5, 1, 2.0), (0.25, 1, 4.0),
])
def test_below_one_call_a_second_the_window_stretches(
    rate_per_s: float, capacity: int, window_s: float
) -> None:
    rate = RequestRate(rate_per_s, FakeClock())
    assert (rate.capacity, rate.window_s) == (capacity, window_s)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestRate(0, FakeClock())


def test_a_lower_share_admits_nothing_until_the_calls_already_made_age_out() -> None:
    clock = FakeClock()
    rate = RequestRate(4, clock)
    assert all(rate.try_take() for _ in range(3))
    for _ in range(3):
        rate.release()

    rate.set_rate(2)  # another process joined: half the budget from now on
    assert (rate.capacity, rate.window_s) == (2, 1.0) and not rate.try_take()
    clock.advance(1.0)
    assert rate.try_take() and rate.try_take() and not rate.try_take()


async def test_a_hold_keeps_polls_and_user_calls_back_until_it_ends() -> None:
    """Just joined a shared budget: the others still take all of it between them, so any call
    of ours, a member's too, would put the sum over it."""
    clock = FakeClock()
    rate = RequestRate(5, clock)
    rate.hold_polls(clock() + 5.0)

    assert not rate.try_take() and rate.wait_s() == 5.0
    member = asyncio.create_task(rate.acquire())
    await asyncio.sleep(0.2)  # several re-checks: the fake clock has not moved
    held = not member.done()
    clock.advance(5.0)
    async with asyncio.timeout(5):
        await member

    assert held
    assert rate.try_take()


def test_a_place_is_held_until_one_window_after_the_reply() -> None:
    clock = FakeClock()
    rate = RequestRate(2, clock)
    assert rate.try_take() and rate.try_take() and not rate.try_take()
    assert rate.wait_s() == 1.0  # all in flight: a reply will come sooner

    rate.release()  # one reply now: its place is still taken for a window
    clock.advance(0.75)
    assert not rate.try_take()
    assert rate.wait_s() == 0.25

    clock.advance(0.25)
    assert rate.wait_s() == 0.0
    assert rate.try_take() and not rate.try_take()


async def test_a_user_call_waits_for_room_and_polls_yield_to_it() -> None:
    clock = FakeClock()
    rate = RequestRate(2, clock)
    assert rate.try_take() and rate.try_take()

    waiter = asyncio.create_task(rate.acquire())
    await asyncio.sleep(0)
    rate.release()
    rate.release()
    assert not waiter.done() and rate.waiting == 1
    clock.advance(1.0)  # the window has room again ...
    assert not rate.try_take()  # ... but a poll must not take it from the waiting call
    assert rate.wait_s() > 0

    await asyncio.wait_for(waiter, 2)

    assert rate.waiting == 0 and rate.in_flight == 1
    assert rate.try_take()  # one place was left for polls
    assert not rate.try_take()  # and the user call's place counts like any other


@pytest.mark.parametrize(("rate_per_s", "capacity", "window_s"), [(3, 3, 1.0), (0.5, 1, 2.0)])
def test_n_places_a_window_free_up_one_window_after_their_replies(
    rate_per_s: float, capacity: int, window_s: float
) -> None:
    clock = FakeClock()
    rate = RequestRate(rate_per_s, clock)
    assert [rate.try_take() for _ in range(capacity + 1)] == [True] * capacity + [False]
    for _ in range(capacity):
        rate.release()
    clock.advance(window_s / 2)
    assert not rate.try_take() and rate.wait_s() == pytest.approx(window_s / 2)
    clock.advance(window_s / 2)
    assert rate.try_take()


def test_a_call_holds_its_place_until_a_window_after_its_reply() -> None:
    clock = FakeClock()
    rate = RequestRate(1, clock)
    assert rate.try_take()
    clock.advance(5)  # a slow reply: still in flight, so nothing else may go
    assert not rate.try_take() and rate.wait_s() == 1.0
    rate.release()
    clock.advance(0.9)
    assert not rate.try_take()
    clock.advance(0.1)
    assert rate.try_take()


def user_call(rig: Rig, name: str) -> Coroutine[Any, Any, object]:
    service = rig.engine.service
    if name == "TaskInfo":
        return service.check_source("demo-music-task", "demo-song-1")
    if name == "estimate-credits":
        return service.estimate(Request("demo-music-task", "demo-song-1", Mode.VOCAL))
    return service.balance()


@pytest.mark.parametrize("call", ["TaskInfo", "estimate-credits", "balance"])
async def test_the_pre_flight_estimate_and_balance_stay_within_the_request_rate(
    rig: Rig, call: str
) -> None:
    rate = rig.engine.rate
    while rate.try_take():  # polls (or anything) hold every place
        pass
    checks = rig.sandbox.calls[call]

    pre_flight = asyncio.create_task(user_call(rig, call))
    for _ in range(100):  # until the pre-flight is queued for a place
        await asyncio.sleep(0)
        if rate.waiting:
            break
    assert rate.waiting == 1
    assert not pre_flight.done() and rig.sandbox.calls[call] == checks

    for _ in range(rate.capacity):
        rate.release()
    rig.clock.advance(rate.window_s)
    await asyncio.wait_for(pre_flight, 2)

    assert rig.sandbox.calls[call] == checks + 1


async def test_a_finished_music_tasks_songs_are_asked_for_once(rig: Rig) -> None:
    checks = rig.sandbox.calls["TaskInfo"]

    for song in ("demo-song-1", "demo-song-2", "demo-song-1"):
        await rig.engine.service.check_source("demo-music-task", song)
    await submit(rig, "demo-song-2")

    assert rig.sandbox.calls["TaskInfo"] == checks + 1
    assert rig.engine.songs.calls == 1


async def test_an_unfinished_music_task_is_not_kept(rig: Rig) -> None:
    rig.sandbox.add_music_task("fresh-task", [("fresh-song", "Fresh")])
    rig.sandbox.music_tasks["fresh-task"].status = "running"
    checks = rig.sandbox.calls["TaskInfo"]

    for _ in range(2):
        assert rig.engine.songs.cached("fresh-task") is None
        await rig.engine.songs.music_task("fresh-task")

    assert rig.sandbox.calls["TaskInfo"] == checks + 2


def test_a_cooldown_refuses_a_member_in_plain_words_and_not_others() -> None:
    clock = FakeClock()
    cooldown = Cooldown(10.0, clock)

    assert cooldown.take(1) == 0.0
    clock.advance(3)
    wait = cooldown.take(1)

    assert wait == 7.0 and try_again_in(wait) == "try again in 7 seconds"
    assert cooldown.take(2) == 0.0
    clock.advance(7)
    assert cooldown.take(1) == 0.0


async def test_a_place_never_sent_counts_for_nothing_and_a_place_settles_once() -> None:
    """CreateTask's place is taken before its job is recorded: a refusal there gives it back
    (no call reached the API); a sent one counts one window more, however often it is settled."""
    clock = FakeClock()
    rate = RequestRate(2.0, clock)
    unsent, sent = await rate.place(), await rate.place()
    assert not rate.try_take()  # both places are held

    unsent.unused()
    unsent.used()  # settled already: no effect
    assert rate.try_take()  # its place is free at once, no window later
    rate.release()

    sent.used()
    sent.unused()
    assert not rate.try_take()  # the sent call and the poll still count this window
    clock.advance(1.0)
    assert rate.try_take()
