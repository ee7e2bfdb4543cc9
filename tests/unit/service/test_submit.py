"""Submission: one CreateTask per unique request, none for anything we could refuse ourselves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot import endings
from bot.errors import ApiError, UnconfirmedSubmission, UserError
from bot.jobs import Delivery, JobState, Mode
from bot.sandbox import Fault
from bot.service import Outcome, Request
from bot.store.turns import is_interactive
from tests._rig import Rig
from tests._sqlite import sqlite

SONG = "demo-song-1"
TASK = "demo-music-task"


def req(song: str = SONG, mode: Mode = Mode.VOCAL, user: int = 1, task: str = TASK,
        locale: str | None = None) -> Request:
    return Request(task, song, mode, guild_id=10, channel_id=20, user_id=user, locale=locale)


async def test_each_unique_request_sends_exactly_one_create_task(rig: Rig) -> None:
    first = await rig.engine.service.submit(req(SONG, Mode.VOCAL))
    second = await rig.engine.service.submit(req(SONG, Mode.INSTRUMENTAL))
    third = await rig.engine.service.submit(req("demo-song-2", Mode.VOCAL))

    assert [s.outcome for s in (first, second, third)] == [Outcome.CREATED] * 3
    assert rig.sandbox.calls["CreateTask"] == 3
    assert first.job.state == JobState.RUNNING
    assert first.job.remote_id in rig.sandbox.separations
    assert first.job.song_title == "Midnight Addiction"


@pytest.mark.parametrize(
    ("task", "song", "expected"),
    [
        ("demo music task", SONG, "task id doesn't look right"),
        (TASK, "song;drop table", "song id doesn't look right"),
        (TASK, "x" * 129, "song id doesn't look right"),
        ("", SONG, "task id doesn't look right"),
        ("no-such-task", SONG, "No music task `no-such-task`"),
        ("demo-pending-task", "demo-pending-song", "hasn't finished yet"),
        ("demo-failed-task", "demo-failed-song", "failed, so it has no songs"),
        (TASK, "not-in-this-task", "`demo-song-1` (Midnight Addiction)"),
    ],
)
async def test_bad_requests_are_refused_without_create_task(
    rig: Rig, task: str, song: str, expected: str
) -> None:
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        await rig.engine.service.submit(req(song, task=task))

    assert rig.sandbox.calls["CreateTask"] == 0
    assert await rig.engine.store.open_jobs() == []


async def test_a_request_for_a_running_job_joins_it_and_costs_nothing(rig: Rig) -> None:
    first = await rig.engine.service.submit(req(user=1))
    joined = await rig.engine.service.submit(req(f"https://suno.com/song/{SONG}", user=2))

    assert joined.outcome == Outcome.JOINED
    assert joined.job.id == first.job.id
    assert rig.sandbox.calls["CreateTask"] == 1
    subs = await rig.engine.store.subscriptions(first.job.id)
    assert [s.user_id for s in subs] == [1, 2]


async def test_each_member_s_language_is_remembered_when_they_submit_join_or_reuse(
    rig: Rig,
) -> None:
    """issue 12: a late DM reads in the member's language, so each subscription keeps it."""
    first = await rig.engine.service.submit(req(user=1, locale="pt-BR"))
    joined = await rig.engine.service.submit(req(user=2, locale="ja"))
    await rig.engine.service.submit(req(user=4))  # a language not given: none remembered
    await rig.advance(70, step=5)
    reused = await rig.engine.service.submit(req(user=3, locale="de"))

    assert (joined.outcome, reused.outcome) == (Outcome.JOINED, Outcome.REUSED)
    subs = await rig.engine.store.subscriptions(first.job.id)
    assert {s.user_id: s.locale for s in subs} == {1: "pt-BR", 2: "ja", 4: None, 3: "de"}


async def test_a_finished_result_is_reused_at_no_cost(rig: Rig) -> None:
    first = await rig.engine.service.submit(req(user=1))
    await rig.advance(70, step=5)
    assert (await rig.engine.store.get(first.job.id)).state == JobState.SUCCEEDED  # type: ignore[union-attr]

    again = await rig.engine.service.submit(req(user=2))

    assert again.outcome == Outcome.REUSED
    assert again.job.id == first.job.id and len(again.job.stems) == 2
    assert rig.sandbox.calls["CreateTask"] == 1
    subs = await rig.engine.store.subscriptions(first.job.id)
    assert subs[1].delivery == Delivery.SHOWN


async def test_an_expired_result_is_not_reused(rig: Rig) -> None:
    await rig.engine.service.submit(req())
    await rig.advance(70, step=5)
    rig.clock.advance(rig.settings.result_ttl_s + 1)

    again = await rig.engine.service.submit(req(user=2))

    assert again.outcome == Outcome.CREATED
    assert rig.sandbox.calls["CreateTask"] == 2


async def test_simultaneous_identical_requests_pay_once(rig: Rig) -> None:
    import asyncio

    results = await asyncio.gather(*(rig.engine.service.submit(req(user=u)) for u in range(5)))

    assert sorted(r.outcome for r in results).count(Outcome.CREATED) == 1
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_a_refused_create_task_is_reported_and_never_resent(rig: Rig) -> None:
    rig.sandbox.inject("CreateTask", Fault("code", code=402))

    with pytest.raises(ApiError) as caught:
        await rig.engine.service.submit(req())
    await rig.settle()

    assert caught.value.code == 402
    assert not isinstance(caught.value, UnconfirmedSubmission)
    assert rig.sandbox.calls["CreateTask"] == 1
    [job] = [j for j in [await rig.engine.store.get(1)] if j]
    assert (job.state, job.error) == (JobState.FAILED, "refused:402")
    assert rig.recorder.calls == []  # the requester read it in the reply already
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 0


@pytest.mark.parametrize("code", [500, 501, 502, 503, 504, 522, 999])
async def test_an_ambiguous_create_task_error_is_unconfirmed_and_keeps_the_charge(
    rig: Rig, code: int
) -> None:
    rig.sandbox.inject("CreateTask", Fault("code", code=code))

    with pytest.raises(UnconfirmedSubmission):
        await rig.engine.service.submit(req())
    await rig.settle()

    assert rig.sandbox.calls["CreateTask"] == 1
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 1


async def test_an_unanswered_create_task_says_it_may_have_been_charged(rig: Rig) -> None:
    rig.sandbox.inject("CreateTask", Fault("timeout", delay_s=2.0))

    with pytest.raises(ApiError):
        await rig.engine.service.submit(req())

    job = await rig.engine.store.get(1)
    # Interrupted, not failed: it may exist upstream, and a callback naming it adopts it.
    assert job is not None and job.state == JobState.INTERRUPTED
    assert job.error == endings.UNCONFIRMED
    assert rig.sandbox.calls["CreateTask"] <= 1
    assert await sqlite(rig.engine.store).scalar("SELECT COUNT(*) FROM ledger") == 1


async def test_the_free_look_up_never_waits_behind_a_submission_of_the_same_song(
    rig: Rig,
) -> None:
    import asyncio

    request = req()
    key = (request.music_task_id, request.song_id, request.mode)
    service = rig.engine.service
    async with service._locks.hold(key):  # a submission of this song is waiting on the API
        answer = await asyncio.wait_for(service.join_or_reuse(request), timeout=1.0)

    assert answer is None  # "would pay": the submit that follows joins under the lock
    assert rig.sandbox.calls["CreateTask"] == 0


async def test_a_members_request_reaches_the_store_as_a_members_work(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, marks = rig.engine.store, list[tuple[str, bool]]()
    for name in ("create_job", "move", "find_open"):
        original = getattr(store, name)

        async def noted(*args: object, _name: str = name, _original: Any = original,
                        **kwargs: object) -> Any:
            marks.append((_name, is_interactive()))
            return await _original(*args, **kwargs)

        monkeypatch.setattr(store, name, noted)

    await rig.engine.service.submit(req())
    background = await store.open_jobs()  # the test's own call: not a member's

    assert {name for name, _ in marks} == {"create_job", "move", "find_open"}
    assert all(member for _, member in marks)  # each goes before the scheduler's waiting work
    assert len(background) == 1 and not is_interactive()


async def test_create_task_waits_for_a_place_in_the_request_rate(rig: Rig) -> None:
    """The paid call counts against API_REQUESTS_PER_S like any other: a full window holds
    it back until a place frees up (the window is counted on the fake clock)."""
    rate = rig.engine.rate
    for _ in range(rate.capacity - 1):
        await rate.acquire()  # calls in flight: one place left, taken by the song check
    submitting = asyncio.create_task(rig.engine.service.submit(req()))
    await asyncio.sleep(0.3)
    assert rig.sandbox.calls["TaskInfo"] == 1  # the song check went
    assert rig.sandbox.calls["CreateTask"] == 0 and not submitting.done()  # the paid call waits
    assert await rig.engine.store.open_jobs() == []  # nothing on record while it waits

    rig.clock.advance(1.0)  # the song check's place ages out of the window
    submission = await asyncio.wait_for(submitting, timeout=5)

    assert submission.outcome == Outcome.CREATED and rig.sandbox.calls["CreateTask"] == 1
    assert rate.in_flight == rate.capacity - 1


async def test_a_submission_stopped_while_it_waits_for_a_place_leaves_no_job_and_no_charge(
    rig: Rig,
) -> None:
    """A shutdown (or any cancel) while CreateTask waits for a place in a full window: it was
    never sent, so nothing may stay on record as "submitting", later "unconfirmed, charged"."""
    rate = rig.engine.rate
    for _ in range(rate.capacity - 1):
        await rate.acquire()
    submitting = asyncio.create_task(rig.engine.service.submit(req()))
    await asyncio.sleep(0.3)
    assert rig.sandbox.calls["TaskInfo"] == 1 and not submitting.done()

    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting

    assert rig.sandbox.calls["CreateTask"] == 0
    assert await rig.engine.store.open_jobs() == [] and await rig.engine.store.spent(10, 0) == 0
    assert rate.in_flight == rate.capacity - 1  # the place it waited for was not kept
