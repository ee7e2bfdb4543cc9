"""/stems cancel through the real client: who may cancel, what it stops, what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Delivery, JobState
from tests._bot_helpers import ended_job
from tests.bot_world import World, bot_world
from tests.standin import Interaction


async def running_job_of_alice(world: World) -> Interaction:
    """Alice's /stems separate, its job accepted by the API and still running there."""
    asked = await world.separate(world.alice)
    await asked.wait_reply(lambda m: bool(m.embeds))
    job = await world.bot.engine.store.get(1)
    assert job is not None and job.state == JobState.RUNNING and job.remote_id
    return asked


def remote_id_of_job_1(world: World) -> str:
    (remote_id,) = world.sandbox.separations
    return remote_id


async def test_the_requester_cancels_and_is_told_credits_are_not_refunded(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        separate = await running_job_of_alice(world)

        asked = await world.command("stems cancel", {"job": 1}, user=world.alice)
        answer = await asked.wait_response()
        status = await separate.wait_reply(lambda m: m.edited and "Cancelled" in m.text)

        assert answer.ephemeral
        assert "Cancelled job `#1`" in answer.content and "not refunded" in answer.content
        assert not status.ephemeral
        job = await world.bot.engine.store.get(1)
        assert job is not None and job.state == JobState.CANCELLED
        assert world.bot.engine.scheduler.queue_size == 0  # no more polling
        subs = await world.bot.engine.store.subscriptions(1)
        assert [s.delivery for s in subs] == [Delivery.CANCELLED]
        assert world.standin.errors == []


async def test_a_cancelled_job_posts_no_result_when_it_finishes_upstream(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        await running_job_of_alice(world)
        cancelled_remote = remote_id_of_job_1(world)
        cancel = await world.command("stems cancel", {"job": 1}, user=world.alice)
        await cancel.wait_response()
        later = await world.separate(world.bob, song="demo-song-2")
        await later.wait_reply(lambda m: bool(m.embeds))

        for remote_id in list(world.sandbox.separations):
            world.sandbox.finish(remote_id)
        result = await world.result()

        assert result.pinged_user_ids == {world.bob.id} and "#2" in result.text
        posted = [m for m in world.standin.messages if m.interaction_id is None]
        assert posted == [result]  # nothing for job 1, though its stems exist upstream
        assert world.sandbox.separations[cancelled_remote].stems
        assert world.standin.errors == []


@pytest.mark.parametrize(
    ("who", "said", "state", "still_polled"),
    [
        ("bob", "No job `#1` of yours", JobState.RUNNING, 1),  # another member: refused
        ("admin", "Cancelled job `#1`", JobState.CANCELLED, 0),  # an admin may
    ],
)
async def test_only_the_requester_or_an_admin_can_cancel_a_members_job(
    tmp_path: Path, who: str, said: str, state: JobState, still_polled: int,
) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        await running_job_of_alice(world)

        asked = await world.command("stems cancel", {"job": 1}, user=getattr(world, who))
        answer = await asked.wait_response()

        assert answer.ephemeral and said in answer.content
        job = await world.bot.engine.store.get(1)
        assert job is not None and job.state == state
        assert world.bot.engine.scheduler.queue_size == still_polled
        assert world.standin.errors == []


async def test_a_finished_job_cannot_be_cancelled(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        job = await ended_job(world, world.alice, song="a")

        asked = await world.command("stems cancel", {"job": job.id}, user=world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral and "already ended" in answer.content and "(a)" in answer.content
        assert world.standin.errors == []


async def test_a_joiner_who_cancels_stops_only_their_own_ping(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        first = await world.separate(world.bob)
        await first.wait_reply(lambda m: bool(m.embeds))
        joined = await world.separate(world.alice)
        await joined.wait_reply(lambda m: "pinged too" in m.text)

        asked = await world.command("stems cancel", {"job": 1}, user=world.alice)
        answer = await asked.wait_response()
        world.sandbox.finish(remote_id_of_job_1(world))
        result = await world.result()

        assert answer.ephemeral
        assert "goes on for the others" in answer.content
        assert "not refunded" not in answer.content  # issue 12: only whoever paid is told that
        assert result.pinged_user_ids == {world.bob.id}
        assert world.creates() == 1
        assert world.standin.errors == []
