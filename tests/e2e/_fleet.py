"""Three StemBots (three processes, in one test) on shards 0, 1 and 2 of 3: the Discord stand-in,
one PostgreSQL database, one sandbox; twelve guilds spread over the shards, members in each."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.bot import StemBot
from bot.config import Secret, Settings
from bot.database_url import DatabaseUrl
from bot.jobs import Job
from bot.sandbox import Sandbox, serve
from tests._settings import make_settings
from tests.standin import Channel, DiscordStandin, Guild, Interaction, Message, User, running_bot
from tests.standin.sessions import shard_of
from tests.survival._sandbox import worst_window

SHARDS = 3
GUILDS = 12
REQUESTS_PER_S = 30  # API_REQUESTS_PER_S, shared by the three processes
LEASE_S = 15.0  # the default: a process restarted within it keeps its place in the budget
QUIET_TIMEOUT_S = 120.0


@dataclass
class Place:
    guild: Guild
    channel: Channel
    members: list[User]

    @property
    def music_task(self) -> str:
        return f"fleet-task-{self.guild.id}"

    def song(self, member: User) -> str:
        return f"song-{member.id}"


@dataclass
class DiscordFleet:
    standin: DiscordStandin
    sandbox: Sandbox
    api_url: str
    dsn: str
    tmp_path: Path
    places: list[Place] = field(default_factory=list)
    bots: dict[int, StemBot] = field(default_factory=dict)  # by shard
    running: dict[int, AsyncExitStack] = field(default_factory=dict)
    received: list[tuple[int, int]] = field(default_factory=list)  # (shard, interaction id)

    def settings(self, shard: int) -> Settings:
        return make_settings(
            self.tmp_path / "unused.sqlite3", self.api_url,
            discord_token=Secret(self.standin.token),
            database_url=DatabaseUrl(self.dsn), process_name=f"shard-{shard}",
            shard_ids=(shard,), shard_count=SHARDS, lease_s=LEASE_S,
            api_requests_per_s=float(REQUESTS_PER_S), crun_timeout_s=5.0,
            poll_min_interval_s=0.1, poll_max_interval_s=0.5,
        )

    def shard_of(self, guild: Guild) -> int:
        return shard_of(guild.id, SHARDS)

    async def start(self, shard: int) -> StemBot:
        """A fresh process for `shard` (its name, so a restart is the same process back)."""
        bot = StemBot(self.settings(shard))

        async def seen(interaction: Any) -> None:
            self.received.append((shard, int(interaction.id)))

        bot.add_listener(seen, "on_interaction")
        stack = AsyncExitStack()
        self.bots[shard] = await stack.enter_async_context(running_bot(bot, self.standin))
        self.running[shard] = stack
        return bot

    async def stop(self, shard: int) -> None:
        """A clean stop (a deploy): deliveries in flight land, leases are given back."""
        del self.bots[shard]
        await self.running.pop(shard).aclose()

    async def separate(self, place: Place, member: User) -> Interaction:
        options = {"task_id": place.music_task, "suno_id": place.song(member)}
        return await self.standin.invoke(place.guild, place.channel, member, "stems separate",
                                         options)

    async def status(self, place: Place, member: User, job_id: int) -> Interaction:
        return await self.standin.invoke(place.guild, place.channel, member, "stems status",
                                         {"job": job_id})

    def answered_by(self, interaction: Interaction) -> list[int]:
        """The shards whose process received the interaction."""
        return [shard for shard, seen in self.received if seen == interaction.id]

    def results(self) -> list[Message]:
        """Every result the bot posted on its own in the guilds' channels (a ping, no reply)."""
        channels = {p.channel.id for p in self.places}
        return [m for m in self.standin.messages if m.channel_id in channels and not m.deleted
                and m.interaction_id is None and m.author_id == self.standin.bot_user_id]

    async def jobs(self) -> list[Job]:
        store = next(iter(self.bots.values())).engine.store
        return await store.recent_jobs(limit=10_000)

    async def quiet(self, jobs: int) -> None:
        """Until `jobs` results are posted and no process has anything left to poll or post."""
        await self.standin.notifier.wait_for(
            lambda: True if len(self.results()) >= jobs else None, QUIET_TIMEOUT_S,
            f"{jobs} results")
        store = next(iter(self.bots.values())).engine.store
        async with asyncio.timeout(QUIET_TIMEOUT_S):  # no "all quiet" event: look every 50 ms
            while True:
                if not await store.open_jobs() and await store.next_delivery_at() is None:
                    return
                await asyncio.sleep(0.05)

    async def budget_shared(self) -> None:
        """Until every process has re-read how many share the budget (each takes its third).
        A process joining makes the others re-read within BUDGET_EVERY_S (bot/scheduler/
        shared.py); the first ones run at a larger share until then."""
        share = REQUESTS_PER_S / SHARDS
        async with asyncio.timeout(QUIET_TIMEOUT_S):  # no event for it: look every 50 ms
            while True:
                if all(b.engine.rate.rate_per_s == share for b in self.bots.values()):
                    return
                await asyncio.sleep(0.05)

    def creates(self) -> Counter[str]:
        return Counter(body["input"]["suno_id"] for body in self.sandbox.create_requests)

    def worst_second(self) -> int:
        """The most requests (of every endpoint, CreateTask too) the API saw in any second."""
        return worst_window([at for at, _ in self.sandbox.request_log])


@asynccontextmanager
async def discord_fleet(
    tmp_path: Path, dsn: str, *, members: int, seed: int, duration_s: tuple[float, float],
) -> AsyncIterator[DiscordFleet]:
    """The world, with the three processes running; stopped (cleanly) at the end."""
    rng = random.Random(seed)
    sandbox = Sandbox(duration_s=lambda mode: rng.uniform(*duration_s), seed=seed)
    async with DiscordStandin() as standin, await serve(sandbox) as api:
        fleet = DiscordFleet(standin, sandbox, api.base_url, dsn, tmp_path)
        for n in range(GUILDS):
            guild = standin.add_guild(f"guild {n}", shard=(n % SHARDS, SHARDS))
            people = [standin.add_member(guild, f"member {n}.{m}") for m in range(members)]
            place = Place(guild, standin.add_channel(guild, "music"), people)
            sandbox.add_music_task(place.music_task, [(place.song(u), f"Song of {u.name}")
                                                      for u in people])
            fleet.places.append(place)
        # One patch for the whole run: each bot's own patch restores what it found, and the
        # bots stop in any order.
        with standin.patch_discord():
            try:
                for shard in range(SHARDS):
                    await fleet.start(shard)
                yield fleet
            finally:
                for shard in sorted(fleet.running):
                    await fleet.stop(shard)
