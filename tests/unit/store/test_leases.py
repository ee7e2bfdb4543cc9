"""Work shared between processes, through the interface: job leases, delivery claims, heartbeats."""

from __future__ import annotations

import asyncio

from bot.jobs import Delivery, JobState
from bot.store import Store
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job

LEASE_S = 15.0


async def test_a_claimed_job_is_not_claimed_by_another_owner_until_its_lease_lapses(
    store: Store, clock: FakeClock
) -> None:
    first, second = await new_job(store, "a"), await new_job(store, "b")
    ended = await store.move(await new_job(store, "c"), JobState.FAILED, error="x")

    mine = await store.claim_due_jobs("p1", LEASE_S)
    theirs = await store.claim_due_jobs("p2", LEASE_S)
    again = await store.claim_due_jobs("p1", LEASE_S)  # what p1 holds it renews instead
    clock.advance(LEASE_S + 1)  # p1 died: its leases lapse
    taken = await store.claim_due_jobs("p2", LEASE_S)

    assert [j.id for j in mine] == [first.id, second.id] and ended.id not in [j.id for j in mine]
    assert theirs == [] and again == []
    assert [j.id for j in taken] == [first.id, second.id]
    assert await store.renew_leases("p1", [first.id, second.id], LEASE_S) == []


async def test_renewing_keeps_a_lease_and_releasing_hands_it_over_at_once(
    store: Store, clock: FakeClock
) -> None:
    job = await new_job(store)
    await store.claim_due_jobs("p1", LEASE_S, limit=1)
    clock.advance(LEASE_S - 1)

    assert await store.renew_leases("p1", [job.id], LEASE_S) == [job.id]
    clock.advance(LEASE_S - 1)  # past the first lease, within the renewed one
    assert await store.claim_due_jobs("p2", LEASE_S) == []
    await store.release_lease("p1", [job.id])
    assert [j.id for j in await store.claim_due_jobs("p2", LEASE_S)] == [job.id]


async def test_a_claim_takes_at_most_its_limit_oldest_first(store: Store) -> None:
    ids = [(await new_job(store, song)).id for song in "abc"]

    first = await store.claim_due_jobs("p1", LEASE_S, limit=2)
    rest = await store.claim_due_jobs("p2", LEASE_S, limit=2)

    assert [j.id for j in first] == ids[:2] and [j.id for j in rest] == ids[2:]


async def test_a_delivery_is_claimed_by_one_poster_until_recorded_or_lapsed(
    store: Store, clock: FakeClock
) -> None:
    job = await store.move(await new_job(store), JobState.RUNNING, remote_id="r1")
    await store.move(job, JobState.SUCCEEDED)
    [sub] = await store.subscriptions(job.id)

    assert await store.claim_delivery(sub.id, "p1") is True
    assert await store.claim_delivery(sub.id, "p2") is False
    await store.record_delivery(sub, Delivery.PENDING, detail="busy", retry_in_s=5)
    assert await store.claim_delivery(sub.id, "p2") is True  # recording ended p1's claim
    clock.advance(61)  # p2 died while posting: its claim lapses (the post's nonce stays)
    assert await store.claim_delivery(sub.id, "p1") is True
    await store.record_delivery(sub, Delivery.CHANNEL, message_id=9)
    assert await store.claim_delivery(sub.id, "p2") is False  # delivered: nothing to claim


async def test_live_processes_are_those_with_a_recent_heartbeat(
    store: Store, clock: FakeClock
) -> None:
    await store.heartbeat("p1")
    await store.heartbeat("p2")
    clock.advance(10)
    await store.heartbeat("p1")

    assert await store.live_processes(within_s=5) == ["p1"]
    assert await store.live_processes(within_s=10) == ["p1", "p2"]


async def test_renewing_all_held_leases_names_the_open_jobs_an_owner_still_holds(
    store: Store, clock: FakeClock
) -> None:
    first, second = await new_job(store, "a"), await new_job(store, "b")
    await store.claim_due_jobs("p1", LEASE_S)
    await store.move(first, JobState.FAILED, error="x")  # ended: no lease worth holding
    clock.advance(LEASE_S - 1)

    assert await store.renew_held_leases("p1", LEASE_S) == [second.id]
    clock.advance(LEASE_S - 1)  # past the first lease, within the renewed one
    assert await store.claim_due_jobs("p2", LEASE_S) == []
    assert await store.renew_held_leases("p2", LEASE_S) == []


async def test_a_notified_wake_reaches_a_listener_with_the_job_id(store: Store) -> None:
    woken: list[int] = []
    arrived = asyncio.Event()

    def listener(job_id: int) -> None:
        woken.append(job_id)
        arrived.set()

    await store.listen_wakes(listener)
    await store.notify_wake(42)
    async with asyncio.timeout(10):
        await arrived.wait()

    assert woken == [42]


async def test_a_jobs_lease_holder_is_named_until_the_lease_lapses_or_is_released(
    store: Store, clock: FakeClock
) -> None:
    job = await new_job(store)
    unheld = await store.lease_holder(job.id)
    await store.claim_due_jobs("p1", LEASE_S)
    held = await store.lease_holder(job.id)
    clock.advance(LEASE_S + 1)
    lapsed = await store.lease_holder(job.id)
    await store.claim_due_jobs("p2", LEASE_S)
    await store.release_lease("p2", [job.id])

    assert (unheld, held, lapsed) == (None, "p1", None)
    assert await store.lease_holder(job.id) is None


async def test_the_jobs_an_owner_holds_are_read_in_one_pass_open_ones_only_oldest_first(
    store: Store,
) -> None:
    first, second = await new_job(store, "a"), await new_job(store, "b")
    await store.claim_due_jobs("p1", LEASE_S, limit=2)
    theirs = await new_job(store, "c")
    await store.claim_due_jobs("p2", LEASE_S)
    await store.move(second, JobState.FAILED, error="x")  # ended: no longer held

    assert [job.id for job in await store.held_jobs("p1")] == [first.id]
    assert [job.id for job in await store.held_jobs("p2")] == [theirs.id]
    assert await store.held_jobs("nobody") == []
