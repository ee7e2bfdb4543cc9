"""Delivery end to end: failures told plainly, channel refused -> DM -> undeliverable, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Delivery, JobState
from tests.bot_world import SLOW_S, World, bot_world
from tests.standin import Message


async def accepted(world: World) -> int:
    """Alice asks for the demo song as the world's first job; its id once the API accepted it."""
    interaction = await world.separate(world.alice)
    await interaction.wait_reply(lambda m: bool(m.embeds))
    return 1


async def test_a_failed_separation_is_told_to_the_requester_in_the_channel(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)

        world.sandbox.finish(
            await world.remote_id(job_id), success=False, message="the upstream model crashed"
        )
        told = await world.result()

        assert told.pinged_user_ids == {world.alice.id}
        # issue 12: an embed like a result, in our words; the API's own text only in the log
        assert "your stems could not be made" in told.content
        assert "Midnight Addiction" in told.text and "#1" in told.text
        assert "could not split this song" in told.text and "Credits were spent" in told.text
        assert "upstream model crashed" not in told.text
        assert told.buttons == []  # no links, no Refresh for a job that has no stems
        assert (await world.job(job_id)).state == JobState.FAILED
        assert world.standin.errors == []


async def test_a_job_past_its_deadline_is_told_it_timed_out(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S, job_deadline_s=0.5) as world:
        job_id = await accepted(world)

        told = await world.result()

        assert told.pinged_user_ids == {world.alice.id}
        assert "your stems could not be made" in told.content
        assert "Midnight Addiction" in told.text and "Took too long" in told.text
        assert "did not finish in time" in told.text and "/stems status job:1" in told.text
        assert (await world.job(job_id)).state == JobState.TIMED_OUT
        assert world.creates() == 1
        assert world.standin.errors == []


@pytest.mark.parametrize(("lost", "code"), [("send", 50013), ("channel", 10003)])
async def test_a_channel_lost_after_submitting_gets_the_result_by_dm(
    tmp_path: Path, lost: str, code: int
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)
        if lost == "send":
            world.standin.set_bot_permissions(world.channel, send=False)
        else:
            world.standin.delete_channel(world.channel)

        world.sandbox.finish(await world.remote_id(job_id))
        dm = await world.dm(world.alice)
        await world.settle()

        # issue 12: the DM names the server and does not mention its own reader
        assert dm.content == "From **Stem Lovers**: your stems are ready."
        assert not dm.pinged_user_ids
        assert [b["label"] for b in dm.buttons if b.get("url")] == ["Vocals", "Instrumental"]
        [sub] = await world.subscriptions(job_id)
        assert (sub.delivery, sub.message_id) == (Delivery.DM, dm.id)
        assert [e.code for e in world.standin.errors] == [code]  # the one refused channel post
        assert len(world.standin.dm_messages(world.alice)) == 1


async def test_with_channel_and_dms_closed_the_result_is_undeliverable_but_in_status(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)
        world.standin.set_bot_permissions(world.channel, send=False)
        world.standin.close_dms(world.alice)

        world.sandbox.finish(await world.remote_id(job_id))
        await world.standin.wait_refusal(50007)
        await world.settle()
        [sub] = await world.subscriptions(job_id)
        asked = await world.command("stems status", {"job": job_id}, user=world.alice)
        status = await asked.wait_response()

        assert sub.delivery == Delivery.UNDELIVERABLE
        assert "channel refused: 403 50013" in (sub.detail or "")
        assert "DM refused: 50007" in (sub.detail or "")
        assert [e.code for e in world.standin.errors] == [50013, 50007]
        assert status.ephemeral and "Midnight Addiction" in status.embeds[0]["title"]
        assert "couldn't post this result in the channel or DM you" in status.embeds[0][
            "description"
        ]
        links = [c["label"] for row in status.components for c in row["components"] if c.get("url")]
        assert links == ["Vocals", "Instrumental"]
        assert world.posted() == [] and world.standin.dm_messages(world.alice) == []


async def test_dm_fallback_off_keeps_the_result_for_status_instead(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(dm_fallback=False)
        job_id = await accepted(world)
        world.standin.set_bot_permissions(world.channel, send=False)

        world.sandbox.finish(await world.remote_id(job_id))
        await world.standin.wait_refusal(50013)
        await world.settle()

        [sub] = await world.subscriptions(job_id)
        assert sub.delivery == Delivery.UNDELIVERABLE and "DMs are off" in (sub.detail or "")
        assert world.standin.dm_messages(world.alice) == []


def results(world: World) -> list[Message]:
    return [m for m in world.posted() if "your stems are ready" in m.content]


async def test_a_bot_restarted_mid_job_delivers_the_result_exactly_once(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)
        remote_id = await world.remote_id(job_id)

        await world.stop_bot()
        world.sandbox.finish(remote_id)  # the job ends while nobody is watching
        await world.start_bot()
        result = await world.result()
        await world.settle()
        await world.restart_bot()
        await world.settle()

        assert result.pinged_user_ids == {world.alice.id}
        assert results(world) == [result]
        [sub] = await world.subscriptions(job_id)
        assert (sub.delivery, sub.message_id) == (Delivery.CHANNEL, result.id)
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_a_bot_restarted_while_the_job_still_runs_resumes_polling(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        job_id = await accepted(world)

        await world.restart_bot()
        world.sandbox.finish(await world.remote_id(job_id))
        result = await world.result()
        await world.settle()

        assert results(world) == [result] and f"`#{job_id}`" in result.text
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_a_crowd_that_joined_one_job_is_pinged_in_batches_within_limits(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(cooldown_s=0)
        crowd = [world.standin.add_member(world.guild, f"fan{n}") for n in range(45)]
        for fan in crowd:
            asked = await world.separate(fan)
            await asked.wait_reply(lambda m: bool(m.embeds))
        [job] = await world.bot.engine.store.open_jobs()

        world.sandbox.finish(await world.remote_id(job.id))
        first = await world.result()
        second = await world.result(lambda m: m.id != first.id)
        await world.settle()

        assert first.pinged_user_ids | second.pinged_user_ids == {fan.id for fan in crowd}
        assert not first.pinged_user_ids & second.pinged_user_ids
        assert world.creates() == 1 and world.standin.errors == []
        assert {s.delivery for s in await world.subscriptions(job.id)} == {Delivery.CHANNEL}
