"""The whole bot on loopback: StemBot (real discord.py) against the Discord stand-in and sandbox."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.bot import StemBot
from bot.config import Secret, Settings
from bot.jobs import Job, Mode, Subscription
from bot.rules import GuildRules
from bot.sandbox import Sandbox, SandboxServer, serve
from tests._settings import make_settings
from tests.standin import Channel, DiscordStandin, Guild, Interaction, Message, User, running_bot

TASK = "demo-music-task"
SONG = "demo-song-1"
SLOW_S = 3600.0  # a sandbox duration no test waits out: the test finishes the job itself


@dataclass
class World:
    """A server with a channel, a member and an admin; the bot running; the sandbox API."""

    standin: DiscordStandin
    sandbox: Sandbox
    sandbox_server: SandboxServer
    bot: StemBot
    settings: Settings
    guild: Guild
    channel: Channel
    alice: User
    bob: User
    admin: User
    _bot_running: AsyncExitStack = field(default_factory=AsyncExitStack, repr=False)

    async def separate(
        self, user: User | None = None, *, task: str = TASK, song: str = SONG,
        mode: Mode | None = None, channel: Channel | None = None,
    ) -> Interaction:
        options: dict[str, Any] = {"task_id": task, "suno_id": song}
        if mode is not None:
            options["mode"] = mode.value
        return await self.command("stems separate", options, user=user, channel=channel)

    async def command(
        self, name: str, options: dict[str, Any] | None = None, *, user: User | None = None,
        channel: Channel | None = None, focused: str | None = None,
    ) -> Interaction:
        return await self.standin.invoke(
            self.guild, channel or self.channel, user or self.alice, name, options or {},
            focused=focused,
        )

    async def result(
        self, predicate: Callable[[Message], bool] | None = None, timeout_s: float = 10
    ) -> Message:
        """The next channel message the bot posts on its own (not an interaction reply)."""
        return await self.standin.wait_message(
            lambda m: m.interaction_id is None and m.author_id == self.standin.bot_user_id
            and (predicate is None or predicate(m)),
            timeout_s=timeout_s,
        )

    async def dm(self, user: User, timeout_s: float = 10) -> Message:
        """The first direct message the bot sent `user`."""
        return await self.standin.wait_message(
            lambda m: m.channel_id == getattr(self.standin.dm_channels.get(user.id), "id", None),
            timeout_s=timeout_s,
        )

    def posted(self, channel: Channel | None = None) -> list[Message]:
        """Every message the bot posted on its own in the channel (results, not replies)."""
        return [
            m for m in self.standin.channel_messages(channel or self.channel)
            if m.interaction_id is None and m.author_id == self.standin.bot_user_id
        ]

    def creates(self) -> int:
        return self.sandbox.calls["CreateTask"]

    # --- the engine, read and nudged directly -------------------------------------------

    async def job(self, job_id: int) -> Job:
        found = await self.bot.engine.store.get(job_id)
        assert found is not None, f"no job #{job_id}"
        return found

    async def remote_id(self, job_id: int) -> str:
        """The sandbox's id for a job the API accepted."""
        remote_id = (await self.job(job_id)).remote_id
        assert remote_id is not None, f"job #{job_id} was never accepted"
        return remote_id

    async def subscriptions(self, job_id: int) -> list[Subscription]:
        return await self.bot.engine.store.subscriptions(job_id)

    async def settle(self) -> None:
        """Let the scheduler start whatever is due now and wait for it (polls, deliveries)."""
        scheduler = self.bot.engine.scheduler
        await scheduler.drain()
        await scheduler.run_once()
        await scheduler.drain()

    async def set_rules(self, **changes: Any) -> GuildRules:
        """Change the test server's rules in the store (as /stems config would)."""
        rules = replace(await self.bot.guild_store.rules(self.guild.id), **changes)
        await self.bot.guild_store.save_rules(self.guild.id, rules)
        return rules

    # --- the bot process ------------------------------------------------------------------

    async def start_bot(self) -> StemBot:
        """Run a fresh StemBot on the same settings, database file, sandbox and Discord."""
        self.bot = StemBot(self.settings)
        await self._bot_running.enter_async_context(running_bot(self.bot, self.standin))
        return self.bot

    async def stop_bot(self) -> None:
        """Stop the bot as a deploy or crash would: gateway, scheduler and database closed."""
        running, self._bot_running = self._bot_running, AsyncExitStack()
        await running.aclose()

    async def restart_bot(self) -> StemBot:
        await self.stop_bot()
        return await self.start_bot()


def loaded(module: str) -> ModuleType:
    """A cog module as the running bot loaded it. An extension's modules are imported afresh on
    each load and dropped on unload, so patch this one, not one imported before the bot ran."""
    return importlib.import_module(module)


async def private_answer(interaction: Interaction) -> Message:
    """What a refused request was told: the private "thinking…" filled with the reason. The
    channel never saw anything of it (issue 12: no public flash, no public followup)."""
    first = await interaction.wait_response()
    assert first.ephemeral, "the first response was public"
    answer = await interaction.wait_original(lambda m: not m.loading)
    assert answer.ephemeral and not [m for m in interaction.followups if not m.ephemeral]
    return answer


def button_id(message: Message, label: str) -> str:
    """The custom_id of the (non-link) button labelled `label` on `message`."""
    found = [b for b in message.buttons if b.get("label") == label and b.get("custom_id")]
    assert found, f"no button {label!r} on message {message.id}: {message.buttons}"
    return str(found[0]["custom_id"])


def world_settings(database: Path, sandbox_url: str, standin: DiscordStandin, guild: Guild,
                   **overrides: object) -> Settings:
    return make_settings(
        database, sandbox_url, discord_token=Secret(standin.token), dev_guild_id=guild.id,
        poll_min_interval_s=0.05, poll_max_interval_s=0.2, **overrides,
    )


@asynccontextmanager
async def bot_world(
    tmp_path: Path, *, duration_s: float = 0.3, **overrides: object
) -> AsyncIterator[World]:
    async with DiscordStandin() as standin:
        guild = standin.add_guild("Stem Lovers")
        channel = standin.add_channel(guild, "music")
        alice = standin.add_member(guild, "alice")
        bob = standin.add_member(guild, "bob")
        admin = standin.add_member(guild, "boss", admin=True)
        sandbox = Sandbox(duration_s=lambda mode: duration_s)
        async with await serve(sandbox) as server:
            settings = world_settings(
                tmp_path / "bot.sqlite3", server.base_url, standin, guild, **overrides
            )
            bot = StemBot(settings)
            world = World(standin, sandbox, server, bot, settings, guild, channel,
                          alice, bob, admin)
            await world._bot_running.enter_async_context(running_bot(bot, standin))
            try:
                yield world
            finally:
                await world.stop_bot()
