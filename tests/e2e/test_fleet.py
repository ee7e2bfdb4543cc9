"""The fleet end to end through Discord: three StemBots (shards 0-2 of 3, each its own process
name) on one PostgreSQL database and one sandbox; members of twelve guilds ask for stems.

Sized like the campaigns: modest in `make test`, 300 jobs under STEMBOT_SOAK=1 (`make soak`)."""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pytest

from bot.jobs import Job, JobState
from tests.e2e._fleet import GUILDS, REQUESTS_PER_S, SHARDS, DiscordFleet, Place, discord_fleet
from tests.standin import Interaction
from tests.standin.errors import StandinError
from tests.survival._campaign import CampaignReport, report, size

pytestmark = pytest.mark.campaign

MEMBERS = size(3, 25)  # per guild: 36 jobs in `make test`, 300 in `make soak`
JOBS = GUILDS * MEMBERS
REPLY_TIMEOUT_S = 30.0
# Members per guild asking at once. Three processes, the stand-in and the sandbox share one
# event loop here: 100 commands at once per process miss Discord's 3 s for the first response.
WAVE = 3


def seed_of(name: str) -> int:
    seed = int(os.environ.get("STEMBOT_SEED", random.SystemRandom().randrange(1, 10**6)))
    print(f"\n[{name}] seed {seed} (STEMBOT_SEED={seed} to replay)")
    return seed


async def ask_everyone(fleet: DiscordFleet, members: int = MEMBERS) -> list[Interaction]:
    """Every member asks for their song, in waves of three per guild (each wave at once)."""
    asked: list[Interaction] = []
    for wave in range(0, members, WAVE):
        sent = [await fleet.separate(place, member)
                for member_no in range(wave, min(wave + WAVE, members)) for place in fleet.places
                for member in place.members[member_no:member_no + 1]]
        for interaction in sent:
            await interaction.wait_reply(lambda m: bool(m.embeds), timeout_s=REPLY_TIMEOUT_S)
        asked += sent
    return asked


def held_by_its_shard(fleet: DiscordFleet, asked: list[Interaction]) -> list[int]:
    """Interactions received by any process other than (or besides) the one holding the shard."""
    return [i.id for i in asked if i.guild_id is None or fleet.answered_by(i) != [
        fleet.shard_of(fleet.standin.guilds[i.guild_id])]]


def reported(fleet: DiscordFleet, jobs: list[Job], campaign: str, seed: int) -> None:
    """The `make soak` row: jobs lost (not succeeded, or nobody told), results posted twice,
    songs charged twice."""
    told = Counter(user for m in fleet.results() for user in m.pinged_user_ids)
    lost = sum(1 for j in jobs
               if j.state != JobState.SUCCEEDED or not told[j.requester_id or 0])
    lost += JOBS - len(jobs)
    duplicates = sum(n - 1 for n in told.values())
    double_charges = sum(n - 1 for n in fleet.creates().values())
    report(CampaignReport(campaign, JOBS, 0, lost, duplicates, double_charges, str(seed)))


def assert_each_job_done_once(fleet: DiscordFleet, jobs: list[Job]) -> None:
    """Each member's job succeeded, its result was posted once pinging them, CreateTask went
    once per job, and the API saw at most API_REQUESTS_PER_S requests in any second (every
    endpoint, CreateTask too)."""
    members = {m.id for p in fleet.places for m in p.members}
    assert len(jobs) == JOBS and {j.requester_id for j in jobs} == members
    assert Counter(j.state for j in jobs) == {JobState.SUCCEEDED: JOBS}
    results = fleet.results()
    pinged = Counter(user for m in results for user in m.pinged_user_ids)
    assert pinged == {member: 1 for member in members} and len(results) == JOBS
    for place in fleet.places:  # each result in its own guild's channel
        assert {u for m in results if m.channel_id == place.channel.id
                for u in m.pinged_user_ids} == {m.id for m in place.members}
    assert fleet.creates() == {f"song-{member}": 1 for member in members}
    assert fleet.worst_second() <= REQUESTS_PER_S  # every request, CreateTask too
    assert fleet.standin.errors == []


async def test_three_processes_answer_their_own_guilds_and_deliver_each_job_once(
    tmp_path: Path, fresh_postgres_url: str,
) -> None:
    seed = seed_of("fleet-discord")
    async with discord_fleet(tmp_path, fresh_postgres_url, members=MEMBERS, seed=seed,
                             duration_s=(0.2, 1.0)) as fleet:
        assert sorted(fleet.standin.gateway.sessions) == list(range(SHARDS))
        await fleet.budget_shared()
        asked = await ask_everyone(fleet)
        await fleet.quiet(JOBS)
        jobs = await fleet.jobs()

    reported(fleet, jobs, "fleet-discord", seed)
    assert held_by_its_shard(fleet, asked) == []
    assert Counter(j.guild_id for j in jobs) == {p.guild.id: MEMBERS for p in fleet.places}
    assert_each_job_done_once(fleet, jobs)


async def test_members_asking_as_the_processes_join_stay_within_the_request_budget(
    tmp_path: Path, fresh_postgres_url: str,
) -> None:
    seed = seed_of("fleet-join")
    async with discord_fleet(tmp_path, fresh_postgres_url, members=3, seed=seed,
                             duration_s=(0.2, 1.0)) as fleet:
        await ask_everyone(fleet, members=3)  # at once: the first processes still hold more
        await fleet.quiet(GUILDS * 3)

    assert fleet.worst_second() <= REQUESTS_PER_S


async def statuses_while_one_is_down(
    fleet: DiscordFleet, down: int, job_of: dict[int, int], rng: random.Random,
) -> tuple[list[tuple[Interaction, int]], list[Place]]:
    """A member of each guild asks /stems status. A guild on the stopped shard cannot be asked:
    the stand-in has no session to send the interaction to and refuses to make one (real
    Discord would show the member "This interaction failed" after 3 s); they ask again later."""
    asked, postponed = [], []
    for place in fleet.places:
        member = rng.choice(place.members)
        if fleet.shard_of(place.guild) == down:
            with pytest.raises(StandinError, match="no bot session on shard"):
                await fleet.status(place, member, job_of[member.id])
            postponed.append(place)
        else:
            asked.append((await fleet.status(place, member, job_of[member.id]),
                          fleet.shard_of(place.guild)))
    return asked, postponed


async def test_a_rolling_restart_loses_nothing_and_every_guild_is_answered_by_its_shard(
    tmp_path: Path, fresh_postgres_url: str,
) -> None:
    seed = seed_of("fleet-rolling-restart")
    rng, answered, in_flight = random.Random(seed), [], []
    async with discord_fleet(tmp_path, fresh_postgres_url, members=MEMBERS, seed=seed,
                             duration_s=(2.0, 8.0)) as fleet:
        await fleet.budget_shared()
        await ask_everyone(fleet)
        job_of = {j.requester_id or 0: j.id for j in await fleet.jobs()}
        for shard in range(SHARDS):  # one at a time, while jobs are in flight
            in_flight.append(len(await fleet.bots[(shard + 1) % SHARDS].engine.store.open_jobs()))
            await fleet.stop(shard)
            asked, postponed = await statuses_while_one_is_down(fleet, shard, job_of, rng)
            await fleet.start(shard)
            for place in postponed:  # asked again, now that the process is back
                member = rng.choice(place.members)
                asked.append((await fleet.status(place, member, job_of[member.id]), shard))
            for interaction, _ in asked:
                await interaction.wait_reply(lambda m: bool(m.embeds), timeout_s=REPLY_TIMEOUT_S)
            answered += [(i.id, fleet.answered_by(i), [holder]) for i, holder in asked]
        await fleet.quiet(JOBS)
        jobs = await fleet.jobs()

    print(f"[fleet-rolling-restart] open jobs at each stop: {in_flight}")
    reported(fleet, jobs, "fleet-rolling-restart", seed)
    assert in_flight[0] > 0  # the first restart had jobs open
    assert len(answered) == SHARDS * GUILDS  # each guild answered in each of the three windows
    assert [(i, by) for i, by, _ in answered] == [(i, holder) for i, _, holder in answered]
    assert_each_job_done_once(fleet, jobs)
