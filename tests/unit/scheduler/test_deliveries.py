"""Delivery bookkeeping on a real SQLite file: record each outcome, retry with back-off, give up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.delivery import Delivered
from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.scheduler.deliveries import Deliveries
from bot.store import JobStore
from tests._sandbox_fixtures import FakeClock


@dataclass
class Deliverer:
    """Records each call and answers with the next scripted result (an exception is raised)."""

    script: list[Delivered | Exception]
    calls: list[tuple[int, list[int]]] = field(default_factory=list)

    async def __call__(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        self.calls.append((job.id, [s.user_id or 0 for s in subs]))
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return {s.id: answer for s in subs}


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[JobStore]:
    opened = await JobStore.open(tmp_path / "jobs.sqlite3", clock=clock)
    yield opened
    await opened.close()


async def ended_job(store: JobStore) -> Job:
    """A job that succeeded, so its requester's delivery is due now."""
    job = await store.create_job(
        music_task_id="t1", song_id="s1", mode=Mode.VOCAL, song_title="T", guild_id=1,
        channel_id=2, requester_id=3, callback_token="tok", estimated_credits=1.0,
    )
    job = await store.move(job, JobState.RUNNING, remote_id="r1")
    return await store.move(job, JobState.SUCCEEDED)


async def only_sub(store: JobStore, job: Job) -> Subscription:
    [sub] = await store.subscriptions(job.id)
    return sub


def deliveries(store: JobStore, clock: FakeClock, deliverer: Deliverer | None,
               latencies: list[float] | None = None, attempts: int = 3) -> Deliveries:
    return Deliveries(store, deliverer, clock, max_attempts=attempts,
                      on_delivered=None if latencies is None else latencies.append)


async def test_a_delivery_that_lands_is_recorded_once_with_its_latency(
    store: JobStore, clock: FakeClock
) -> None:
    job, latencies = await ended_job(store), list[float]()
    deliverer = Deliverer([Delivered(Delivery.CHANNEL, message_id=99)])
    clock.advance(4)

    await deliveries(store, clock, deliverer, latencies).deliver(job.id)

    sub = await only_sub(store, job)
    assert (sub.delivery, sub.message_id, sub.attempts) == (Delivery.CHANNEL, 99, 1)
    assert deliverer.calls == [(job.id, [3])] and latencies == [4.0]
    assert await store.due_deliveries() == []


async def test_a_crashed_delivery_is_retried_after_a_back_off(
    store: JobStore, clock: FakeClock
) -> None:
    job = await ended_job(store)
    deliverer = Deliverer([ConnectionError("discord is down"), Delivered(Delivery.DM)])
    due = deliveries(store, clock, deliverer)

    await due.deliver(job.id)

    sub = await only_sub(store, job)
    assert (sub.delivery, sub.attempts, sub.detail) == (
        Delivery.PENDING, 1, "delivery did not complete")
    assert await store.due_deliveries() == []  # not before the back-off
    clock.advance(5)
    assert await store.due_deliveries() == [job.id]

    await due.deliver(job.id)

    assert (await only_sub(store, job)).delivery == Delivery.DM
    assert len(deliverer.calls) == 2


async def test_after_the_last_attempt_it_gives_up_and_says_why(
    store: JobStore, clock: FakeClock
) -> None:
    job = await ended_job(store)
    deliverer = Deliverer([Delivered(Delivery.PENDING, detail="channel refused")])
    due = deliveries(store, clock, deliverer, attempts=2)

    await due.deliver(job.id)
    clock.advance(5)
    await due.deliver(job.id)
    clock.advance(600)
    await due.deliver(job.id)  # nothing is pending any more: the deliverer is not called

    sub = await only_sub(store, job)
    assert (sub.delivery, sub.detail) == (Delivery.UNDELIVERABLE, "gave up: channel refused")
    assert len(deliverer.calls) == 2


async def test_without_a_deliverer_due_deliveries_wait_untried(
    store: JobStore, clock: FakeClock
) -> None:
    job = await ended_job(store)
    due = deliveries(store, clock, None)

    await due.deliver(job.id)

    assert not due.attached
    assert (await only_sub(store, job)).attempts == 0
    due.attach(Deliverer([Delivered(Delivery.CHANNEL)]))
    await due.deliver(job.id)
    assert (await only_sub(store, job)).delivery == Delivery.CHANNEL


async def test_one_job_is_delivered_by_one_claimant_at_a_time(
    store: JobStore, clock: FakeClock
) -> None:
    job = await ended_job(store)
    due = deliveries(store, clock, Deliverer([Delivered(Delivery.CHANNEL)]))

    assert due.claim(job.id) and not due.claim(job.id)
    assert due.claim(job.id + 1)
    await due.deliver(job.id)  # a finished delivery lets go of its claim

    assert due.claim(job.id)


async def test_one_record_that_fails_does_not_leave_the_others_to_be_posted_again(
    store: JobStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await store.create_job(
        music_task_id="t1", song_id="s1", mode=Mode.VOCAL, song_title="T", guild_id=1,
        channel_id=2, requester_id=3, callback_token="tok", estimated_credits=1.0,
    )
    await store.subscribe(job, user_id=4, guild_id=1, channel_id=2)
    job = await store.move(await store.move(job, JobState.RUNNING, remote_id="r1"),
                           JobState.SUCCEEDED)
    real = store.record_delivery

    async def fails_for_user_3(sub: Subscription, *args: object, **kwargs: object) -> None:
        if sub.user_id == 3:
            raise OSError("disk I/O error")
        await real(sub, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "record_delivery", fails_for_user_3)
    await deliveries(store, clock, Deliverer([Delivered(Delivery.CHANNEL)])).deliver(job.id)

    by_user = {s.user_id: s.delivery for s in await store.subscriptions(job.id)}
    assert by_user == {3: Delivery.PENDING, 4: Delivery.CHANNEL}
