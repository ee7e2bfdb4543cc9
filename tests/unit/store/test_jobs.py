"""Jobs through the store interface: the one choke point for state changes, and the charge."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import UserError
from bot.jobs import IllegalTransition, Job, JobState, Mode
from bot.rules import GuildRules
from bot.store import Store, StoreError
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job
from tests.unit.store.conftest import Reopen


async def test_illegal_transitions_are_refused_and_nothing_changes(store: Store) -> None:
    job = await new_job(store)
    with pytest.raises(IllegalTransition):
        await store.move(job, JobState.SUCCEEDED)
    assert (await store.get(job.id)).state == JobState.SUBMITTING  # type: ignore[union-attr]


async def test_a_stale_job_cannot_be_moved_twice(store: Store) -> None:
    job = await new_job(store)
    await store.move(job, JobState.RUNNING, remote_id="r1")
    with pytest.raises(StoreError):
        await store.move(job, JobState.RUNNING, remote_id="r2")


async def test_only_one_open_job_per_song_and_mode(store: Store) -> None:
    await new_job(store, "same")
    with pytest.raises(StoreError):  # was sqlite3.IntegrityError: callers see no driver
        await new_job(store, "same")


async def test_a_remote_id_cannot_belong_to_two_jobs(store: Store) -> None:
    await store.move(await new_job(store, "a"), JobState.RUNNING, remote_id="r1")
    other = await new_job(store, "b")
    with pytest.raises(StoreError):
        await store.move(other, JobState.RUNNING, remote_id="r1")
    assert (await store.get(other.id)).state == JobState.SUBMITTING  # type: ignore[union-attr]


async def test_jobs_survive_close_and_reopen(reopen: Reopen) -> None:
    first = await reopen()
    job = await first.move(await new_job(first), JobState.RUNNING, remote_id="r9")

    [reopened] = await (await reopen()).open_jobs()

    assert (reopened.id, reopened.remote_id, reopened.state) == (job.id, "r9", JobState.RUNNING)


async def test_the_move_that_ends_a_job_settles_its_charge_in_the_same_write(
    store: Store,
) -> None:
    job = await store.move(await new_job(store, credits=1.0), JobState.RUNNING, remote_id="r1")

    ended = await store.move(job, JobState.SUCCEEDED, credits=0.75)

    assert ended.credits == 0.75
    assert await store.spent(1, since=0) == 0.75 and await store.credits_total() == 0.75


async def test_an_ending_s_code_and_the_api_s_words_are_kept_apart_and_cleared_together(
    store: Store,
) -> None:
    job = await store.move(await new_job(store), JobState.RUNNING, remote_id="r1")
    failed = await store.move(job, JobState.FAILED, error="api_failed",
                              error_detail="audio too short")
    assert (failed.error, failed.error_detail) == ("api_failed", "audio too short")

    recovered = await store.move(failed, JobState.SUCCEEDED, error=None, error_detail=None)

    reread = await store.get(job.id)
    assert reread == recovered and (reread.error, reread.error_detail) == (None, None)


async def test_a_refused_submission_is_refunded_by_its_move(store: Store) -> None:
    await new_job(store, "kept", credits=2.0)
    refused = await new_job(store, "refused", credits=5.0)

    await store.move(refused, JobState.FAILED, error="refused", refund=True)

    assert await store.credits_total() == 2.0


async def test_the_charge_of_a_job_cancelled_mid_check_is_settled_on_the_ended_job(
    store: Store,
) -> None:
    job = await store.move(await new_job(store), JobState.RUNNING, remote_id="r1")
    done = await store.cancel(job, user_id=3, error="cancelled")
    assert done.ended and done.job.state == JobState.CANCELLED

    await store.settle_charge(job.id, 0.75)

    assert (await store.get(job.id)).credits == 0.75  # type: ignore[union-attr]
    assert await store.credits_total() == 0.75


async def test_every_committed_move_is_published_once_and_a_refused_one_never(
    store: Store, published: list[Job]
) -> None:
    job = await new_job(store)  # recording is not a move
    running = await store.move(job, JobState.RUNNING, remote_id="r1")
    with pytest.raises(StoreError):
        await store.move(job, JobState.RUNNING, remote_id="r2")  # stale: nothing written
    await store.subscribe(running, user_id=4, guild_id=1, channel_id=2)
    await store.cancel(running, user_id=3, error="x")  # someone still waits: not ended
    await store.cancel(running, user_id=4, error="x")  # the last one: ended

    assert [(j.id, j.state) for j in published] == [
        (job.id, JobState.RUNNING), (job.id, JobState.CANCELLED)]


async def test_old_ended_jobs_are_purged_and_their_spending_stays(
    store: Store, clock: FakeClock
) -> None:
    old = await store.move(await new_job(store, "old"), JobState.FAILED, error="x")
    clock.advance(100)
    recent = await store.move(await new_job(store, "new"), JobState.FAILED, error="x")
    running = await new_job(store, "open")

    assert await store.purge_finished(before=clock.now - 50) == 1

    assert await store.get(old.id) is None and await store.get(recent.id) is not None
    assert [j.id for j in await store.recent_jobs()] == [running.id, recent.id]
    assert await store.credits_total() == 3.0


async def test_a_refusal_inside_the_recording_transaction_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def refuse() -> None:  # reads usage inside the transaction, as the limits do
        usage = await store.usage(1, 3, GuildRules(), clock.now)
        seen.append(usage.guild_spent)
        raise UserError("over the budget")

    await new_job(store, "paid", credits=2.0)
    with pytest.raises(UserError):
        await store.create_job(
            music_task_id="t1", song_id="refused", mode=Mode.VOCAL, song_title=None,
            guild_id=1, channel_id=2, requester_id=3, callback_token=None,
            estimated_credits=5.0, admit=refuse,
        )

    assert seen == [2.0]
    assert [j.song_id for j in await store.recent_jobs()] == ["paid"]
    assert await store.credits_total() == 2.0


async def test_commands_read_while_another_job_is_being_admitted(
    store: Store, clock: FakeClock
) -> None:
    job = await new_job(store, "earlier")
    inside, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:  # the paying transaction stays open until the reads are done
        inside.set()
        await release.wait()

    admitting = asyncio.create_task(store.create_job(
        music_task_id="t1", song_id="held", mode=Mode.VOCAL, song_title=None, guild_id=1,
        channel_id=2, requester_id=3, callback_token=None, estimated_credits=1.0, admit=hold,
    ))
    await inside.wait()
    try:
        read = await store.get(job.id)
        subs = await store.subscriptions(job.id)
        page, total = await store.jobs_page(1, 3, offset=0, limit=5)
        usage = await store.usage(1, 3, GuildRules(), clock.now)
        answered_while_held = not admitting.done()
    finally:
        release.set()
    held = await admitting

    assert answered_while_held
    assert read == job and [s.user_id for s in subs] == [3]
    assert ([j.id for j in page], total) == ([job.id], 1)
    assert usage.user_open_jobs == 1  # the held job is not there until its transaction commits
    assert (await store.jobs_page(1, 3, offset=0, limit=5))[1] == 2 and held.song_id == "held"
