"""Campaign 3: Discord faults mid-job (403, 404, DM 403, 429, gateway drops): no loss, no dups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.jobs import Delivery
from tests.bot_world import SLOW_S, World, bot_world
from tests.standin import Message, User
from tests.survival._campaign import CampaignReport, report, size

pytestmark = pytest.mark.campaign

TASK = "survive-task"


@dataclass(frozen=True)
class Accepted:
    job_id: int
    requester: User


async def accept_jobs(world: World, count: int) -> list[Accepted]:
    """`count` running jobs for distinct songs, alternately alice's and bob's."""
    await world.set_rules(max_open_per_user=50, cooldown_s=0)
    world.sandbox.add_music_task(TASK, [(f"song-{i}", f"Song {i}") for i in range(count)])
    jobs = []
    for i in range(count):
        user = (world.alice, world.bob)[i % 2]
        asked = await world.separate(user, task=TASK, song=f"song-{i}")
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        jobs.append(Accepted(i + 1, user))
        assert f"#{i + 1}" in status.text, status.text
    return jobs


async def finish(world: World, jobs: list[Accepted]) -> None:
    for job in jobs:
        world.sandbox.finish(await world.remote_id(job.job_id))


def tagged(job_id: int) -> Callable[[Message], bool]:
    return lambda m: f"`#{job_id}`" in m.text


def results_for(world: World, job_id: int) -> list[Message]:
    """Every result message (channel or any DM) the bot posted for the job."""
    return [
        m for m in world.standin.messages
        if m.interaction_id is None and m.author_id == world.standin.bot_user_id
        and not m.deleted and f"`#{job_id}`" in m.text and "stems are ready" in m.text
    ]


async def wait_dm(world: World, user: User, job_id: int) -> Message:
    dm_id = world.standin.dm_channel(user).id
    return await world.standin.wait_message(
        lambda m: m.channel_id == dm_id and f"`#{job_id}`" in m.text, timeout_s=15
    )


def tally(world: World, jobs: list[Accepted], name: str, faults: int) -> tuple[int, int]:
    """Lost and duplicated deliveries across `jobs`, reported as a campaign row."""
    counts = Counter({j.job_id: len(results_for(world, j.job_id)) for j in jobs})
    lost = sum(1 for j in jobs if counts[j.job_id] == 0)
    dups = sum(n - 1 for n in counts.values() if n > 1)
    double = world.creates() - len(jobs)
    report(CampaignReport(f"3 discord: {name}", len(jobs), faults, lost, dups, double))
    return lost, dups


async def test_channel_refused_then_deleted_mid_job_every_result_reaches_a_dm_once(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        jobs = await accept_jobs(world, size(6, 40))
        half = len(jobs) // 2

        world.standin.set_bot_permissions(world.channel, send=False)  # 403 50013
        await finish(world, jobs[:half])
        for job in jobs[:half]:
            await wait_dm(world, job.requester, job.job_id)
        await world.settle()
        world.standin.delete_channel(world.channel)  # 404 10003
        await finish(world, jobs[half:])
        for job in jobs[half:]:
            await wait_dm(world, job.requester, job.job_id)
        await world.settle()

        assert tally(world, jobs, "channel 403 then 404", len(jobs)) == (0, 0)
        for job in jobs:
            [sub] = await world.subscriptions(job.job_id)
            [dm] = results_for(world, job.job_id)
            assert (sub.delivery, sub.message_id) == (Delivery.DM, dm.id)
            assert not dm.pinged_user_ids and not dm.pings_everyone  # issue 12: a DM pings nobody
        assert world.creates() == len(jobs)
        assert world.posted() == []
        codes = Counter(e.code for e in world.standin.errors)
        assert codes[50013] == half, world.standin.errors
        assert set(codes) <= {50013, 10003}, world.standin.errors


async def test_with_dms_closed_a_requester_is_undeliverable_in_status_and_a_joiner_gets_a_dm(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        jobs = await accept_jobs(world, size(4, 20))
        joined = await world.separate(world.bob, task=TASK, song="song-0")  # alice's job #1
        await joined.wait_reply(lambda m: bool(m.embeds))
        world.standin.set_bot_permissions(world.channel, send=False)
        world.standin.close_dms(world.alice)

        await finish(world, jobs)
        for job in jobs:
            if job.requester == world.bob:
                await wait_dm(world, world.bob, job.job_id)
        await wait_dm(world, world.bob, 1)
        await world.standin.wait_refusal(50007)
        await world.settle()
        await world.settle()

        assert world.standin.dm_messages(world.alice) == []
        for job in jobs:
            by_user = {s.user_id: s for s in await world.subscriptions(job.job_id)}
            expected = {
                world.alice.id: Delivery.UNDELIVERABLE, world.bob.id: Delivery.DM,
            } if job.job_id == 1 else {job.requester.id: (
                Delivery.UNDELIVERABLE if job.requester == world.alice else Delivery.DM
            )}
            assert {u: s.delivery for u, s in by_user.items()} == expected
            bob_dms = [m for m in world.standin.dm_messages(world.bob) if tagged(job.job_id)(m)]
            assert len(bob_dms) == (1 if world.bob.id in expected else 0)
        asked = await world.command("stems status", {"job": jobs[0].job_id}, user=world.alice)
        status = await asked.wait_response()
        assert status.ephemeral
        assert "couldn't post this result in the channel or DM you" in status.embeds[0][
            "description"
        ]
        assert world.creates() == len(jobs)
        assert world.posted() == []
        codes = Counter(e.code for e in world.standin.errors)
        assert set(codes) == {50013, 50007}
        lost = 0  # undeliverable-but-in-status is the chain's defined end, not a loss
        dups = sum(max(0, len(results_for(world, j.job_id)) - 1) for j in jobs)
        report(CampaignReport("3 discord: DM 403", len(jobs), len(jobs), lost, dups,
                              world.creates() - len(jobs)))
        assert dups == 0


async def test_a_429_on_the_result_post_is_retried_by_discord_py_and_lands_once(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        jobs = await accept_jobs(world, size(4, 30))
        route = f"POST /channels/{world.channel.id}/messages"
        world.standin.rate_limit_next(route, retry_after_s=0.05, count=len(jobs))

        await finish(world, jobs)
        for job in jobs:
            await world.result(tagged(job.job_id), timeout_s=15)
        await world.settle()

        assert len(world.standin.rate_limits) == len(jobs)
        assert tally(world, jobs, "429 retry_after", len(jobs)) == (0, 0)
        for job in jobs:
            [sub] = await world.subscriptions(job.job_id)
            assert sub.delivery == Delivery.CHANNEL
        assert world.standin.dm_messages(world.alice) == []
        assert world.standin.errors == []


@pytest.mark.parametrize("resumable", [True, False], ids=["resume", "invalidated"])
async def test_a_gateway_drop_mid_job_still_delivers_once_and_commands_work_after(
    tmp_path: Path, resumable: bool
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        jobs = await accept_jobs(world, size(4, 20))
        gateway = world.standin.gateway
        identified, resumed = gateway.identify_count, gateway.resume_count

        await world.standin.disconnect_gateway(resumable=resumable)
        await finish(world, jobs)  # deliveries are REST: they must not wait for the gateway
        for job in jobs:
            await world.result(tagged(job.job_id), timeout_s=15)
        await world.standin.wait_ready(timeout_s=15)
        await world.settle()
        asked = await world.command("stems status", {"job": jobs[0].job_id}, user=world.alice)
        status = await asked.wait_response()

        if resumable:
            assert (gateway.identify_count, gateway.resume_count) == (identified, resumed + 1)
        else:
            assert gateway.identify_count == identified + 1
        name = "gateway resume" if resumable else "gateway re-identify"
        assert tally(world, jobs, name, 1) == (0, 0)
        assert status.ephemeral and "Song 0" in status.embeds[0]["title"]
        assert world.creates() == len(jobs)
        assert world.standin.errors == []
