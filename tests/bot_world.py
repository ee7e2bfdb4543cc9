"""The whole bot on loopback: StemBot (real discord.py) against the Discord stand-in and sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bot import StemBot
from bot.config import Secret, Settings
from bot.jobs import Mode
from bot.sandbox import Sandbox, SandboxServer, serve
from tests.conftest import make_settings
from tests.standin import Channel, DiscordStandin, Guild, Interaction, Message, User, running_bot

TASK = "demo-music-task"
SONG = "demo-song-1"


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

    def creates(self) -> int:
        return self.sandbox.calls["CreateTask"]


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
            async with running_bot(bot, standin):
                yield World(standin, sandbox, server, bot, settings, guild, channel,
                            alice, bob, admin)
