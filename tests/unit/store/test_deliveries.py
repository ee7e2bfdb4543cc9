"""Requesters and their deliveries through the store interface."""

from __future__ import annotations

from bot.jobs import Delivery, JobState
from bot.store import Store
from bot.store.errors import StatusMessage
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job
from tests.unit.store.conftest import Reopen


async def test_ending_a_job_makes_its_deliveries_due_once(store: Store) -> None:
    job = await store.move(await new_job(store), JobState.RUNNING, remote_id="r1")
    await store.subscribe(job, user_id=4, guild_id=1, channel_id=2)

    await store.move(job, JobState.FAILED, error="boom")

    assert await store.due_deliveries() == [job.id]
    assert {s.delivery for s in await store.subscriptions(job.id)} == {Delivery.PENDING}
    for sub in await store.subscriptions(job.id):
        await store.record_delivery(sub, Delivery.CHANNEL, message_id=9)
    assert await store.due_deliveries() == []
    assert await store.next_delivery_at() is None


async def test_a_second_request_by_the_same_member_keeps_the_first(store: Store) -> None:
    job = await new_job(store)

    again = await store.subscribe(job, user_id=3, guild_id=1, channel_id=99)

    assert again.channel_id == 2 and len(await store.subscriptions(job.id)) == 1


async def test_each_requester_s_language_is_kept_on_their_own_subscription(
    store: Store,
) -> None:
    job = await new_job(store, locale="pt-BR")  # the requester's, recorded with the job
    await store.subscribe(job, user_id=4, guild_id=1, channel_id=2, locale="ja")
    await store.subscribe(job, user_id=5, guild_id=1, channel_id=2)

    subs = await store.subscriptions(job.id)

    assert {s.user_id: s.locale for s in subs} == {3: "pt-BR", 4: "ja", 5: None}


async def test_a_delivery_to_retry_is_due_again_after_its_wait(
    store: Store, clock: FakeClock
) -> None:
    job = await store.move(await new_job(store), JobState.RUNNING, remote_id="r1")
    await store.move(job, JobState.SUCCEEDED, told=False)
    [sub] = await store.subscriptions(job.id)

    await store.record_delivery(sub, Delivery.PENDING, detail="busy", retry_in_s=30)

    assert await store.due_deliveries() == [] and await store.next_delivery_at() == clock.now + 30
    clock.advance(30)
    assert await store.due_deliveries() == [job.id]
    [retried] = await store.subscriptions(job.id)
    assert (retried.attempts, retried.detail) == (1, "busy")


async def test_a_public_status_message_is_remembered_until_its_final_state_is_shown(
    store: Store,
) -> None:
    job = await new_job(store)  # requester 3, results in channel 2
    await store.subscribe(job, user_id=4, guild_id=1, channel_id=2)
    await store.set_status_message(job.id, 3, channel_id=7, message_id=2**60)
    await store.set_status_message(job.id, 4, channel_id=7, message_id=71)

    remembered = await store.status_messages()
    await store.status_shown_final(job.id, message_id=71)
    await store.status_shown_final(job.id, message_id=72)  # another message: nothing to clear

    assert remembered == [
        StatusMessage(job.id, 3, 1, 2, status_channel_id=7, message_id=2**60),
        StatusMessage(job.id, 4, 1, 2, status_channel_id=7, message_id=71),
    ]
    assert await store.status_messages() == remembered[:1]


async def test_remembered_status_messages_survive_a_reopen(reopen: Reopen) -> None:
    store = await reopen()
    job = await new_job(store)
    await store.set_status_message(job.id, 3, channel_id=7, message_id=70)

    store = await reopen()

    assert [m.message_id for m in await store.status_messages()] == [70]


async def test_a_job_that_ends_anew_has_its_public_status_corrected_again(store: Store) -> None:
    """A failed job re-checked into a success: the status once shown final ("failed") is due
    for an edit again, so the next start corrects it."""
    job = await new_job(store)
    running = await store.move(job, JobState.RUNNING, remote_id="r1")
    failed = await store.move(running, JobState.FAILED, error="api_failed")
    await store.set_status_message(job.id, 3, channel_id=7, message_id=70)
    await store.status_shown_final(job.id, message_id=70)
    assert await store.status_messages() == []

    await store.move(failed, JobState.SUCCEEDED, error=None)

    assert [m.message_id for m in await store.status_messages()] == [70]


async def test_an_ending_told_in_the_reply_is_shown_to_the_requester_and_due_to_the_rest(
    store: Store,
) -> None:
    """One move settles three kinds of requester (on PostgreSQL, one statement): the one
    told in the command's reply, those still waiting, and one who cancelled."""
    job = await new_job(store)  # requester 3
    await store.subscribe(job, user_id=4, guild_id=1, channel_id=2)
    await store.subscribe(job, user_id=5, guild_id=1, channel_id=2)
    running = await store.move(job, JobState.RUNNING, remote_id="r1")
    await store.cancel(running, user_id=5, error="cancelled")  # others wait: the job goes on

    ended = await store.move(running, JobState.FAILED, error="refused", told=True, refund=True,
                             credits=9.0)  # a figure with a refund: the refund wins

    assert ended.state == JobState.FAILED and ended.error == "refused"
    assert {s.user_id: s.delivery for s in await store.subscriptions(job.id)} == {
        3: Delivery.SHOWN, 4: Delivery.PENDING, 5: Delivery.CANCELLED}
    assert await store.due_deliveries() == [job.id]
    assert await store.credits_total() == 0
