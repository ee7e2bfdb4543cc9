"""The Discord bot: owns the engine, loads extensions by name, syncs commands deliberately."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands

from bot.config import Settings
from bot.engine import Engine
from bot.i18n import N_
from bot.store import GuildStore, StoreError
from bot.tree import StemTranslator, StemTree
from bot.web import WebServer

log = logging.getLogger(__name__)

# Exactly what the bot needs in a channel to post results: the flag, and the name Discord
# shows (marked for the catalogs: members read it in their language). In a thread, "Send
# Messages" means the thread flag.
NEEDED_IN_CHANNEL = (
    ("view_channel", N_("View Channel")),
    ("send_messages", N_("Send Messages")),
    ("embed_links", N_("Embed Links")),
)
IN_THREAD = {"send_messages": "send_messages_in_threads"}
PERMISSIONS = discord.Permissions(
    **{flag: True for flag, _ in NEEDED_IN_CHANNEL}, **dict.fromkeys(IN_THREAD.values(), True)
)
COMMAND_HASH_KEY = "command_hash"


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands")
    )


def missing_permissions(perms: discord.Permissions, *, in_thread: bool) -> list[str]:
    """The names of what the bot needs in a channel and lacks there."""
    flags = [
        (IN_THREAD.get(flag, flag) if in_thread else flag, name)
        for flag, name in NEEDED_IN_CHANNEL
    ]
    return [name for flag, name in flags if not getattr(perms, flag)]


def _shard_ids(settings: Settings) -> dict[str, Any]:
    """discord.py takes shard_ids only as a list, and no list as "all of them"."""
    return {} if settings.shard_ids is None else {"shard_ids": list(settings.shard_ids)}


class StemBot(commands.AutoShardedBot):
    """The bot. Resources are opened in setup_hook and closed in close(). It runs the shards
    SHARD_IDS of SHARD_COUNT; without them, every shard Discord advises (one, for most bots)."""

    # Loaded by name, so they can be reloaded in place (`reload_extension`).
    initial_extensions = ("cogs.stems",)

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        sync_only: bool = False,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            tree_cls=StemTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            shard_count=settings.shard_count,
            **_shard_ids(settings),
        )
        self.settings = settings
        self.clock = clock
        self.sync_only = sync_only
        self._engine: Engine | None = None
        self._guild_store: GuildStore | None = None
        self.web: WebServer | None = None

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "engine used before setup_hook"
        return self._engine

    @property
    def guild_store(self) -> GuildStore:
        assert self._guild_store is not None, "guild store used before setup_hook"
        return self._guild_store

    async def setup_hook(self) -> None:
        # The engine first: the extensions' cogs attach to it (the result poster, the status
        # board) when they load.
        self._engine = await Engine.open(self.settings, clock=self.clock)
        self._guild_store = GuildStore(self._engine.store)
        await self.tree.set_translator(StemTranslator())
        for extension in self.initial_extensions:
            await self.load_extension(extension)
        await self.sync_commands(force=self.sync_only)
        if self.application_id is not None:
            log.info("invite the bot with: %s", invite_url(self.application_id))
        if not self.sync_only:
            if self.settings.http_port is not None:
                self.web = WebServer(self.engine, self.gateway_connected, self.shard_numbers)
                await self.web.start(self.settings.http_host, self.settings.http_port)
            await self.engine.start()

    def gateway_connected(self) -> bool:
        # The websockets themselves, not is_ready(): that waits for guilds to settle after READY.
        shards = self.shards.values()
        return not self.is_closed() and bool(shards) and not any(s.is_closed() for s in shards)

    def shard_numbers(self) -> list[int]:
        """The shards this process runs (all of them when SHARD_IDS is unset)."""
        return sorted(self.shards) or list(self.shard_ids or [])

    def acknowledged(self, interaction: discord.Interaction[Any]) -> None:
        """Record the time to first response (Discord allows 3 s; we aim under 0.1 s)."""
        elapsed = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        self.engine.metrics.ack_time.observe(max(0.0, elapsed))

    async def sync_commands(self, *, force: bool = False) -> str:
        """Sync to the dev guild every start; globally only when the commands changed."""
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to dev guild %d", len(synced), guild.id)
            return "guild"
        digest = await self.command_hash()
        if not force and await self.guild_store.meta(COMMAND_HASH_KEY) == digest:
            log.info("commands unchanged since the last sync; not syncing")
            return "unchanged"
        synced = await self.tree.sync()
        await self.guild_store.set_meta(COMMAND_HASH_KEY, digest)
        log.info("synced %d commands globally (they may take a while to appear)", len(synced))
        return "global"

    async def command_hash(self) -> str:
        """The commands as synced, localizations included: a new translation is a change."""
        translator = self.tree.translator or StemTranslator()
        payload = [
            await cmd.get_translated_payload(self.tree, translator)
            for cmd in self.tree.get_commands()
        ]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def close(self) -> None:
        if self._engine is not None:
            # First, while Discord is still reachable: deliveries in flight land and are recorded.
            await self._engine.scheduler.stop()
        await super().close()
        if self.web is not None:
            web, self.web = self.web, None
            await web.close()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.close()


async def run_bot(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then close the gateway, the HTTP session and the database."""
    bot = StemBot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with bot:
        running = asyncio.create_task(bot.start(settings.discord_token.reveal()))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        log.info("shutting down")
        await bot.close()
        stopping.cancel()
        failure = None if running.cancelled() else await _failure(running)
    if isinstance(failure, StoreError):
        log.error("cannot start: %s", failure)
        return 2
    if isinstance(failure, discord.LoginFailure):
        log.error("Discord rejected DISCORD_TOKEN; check it in the Developer Portal")
        return 1
    if failure is not None:
        log.error("the bot stopped: %s", failure, exc_info=failure)
        return 1
    return 0


async def _failure(task: asyncio.Task[None]) -> BaseException | None:
    try:
        await task
    except Exception as exc:
        return exc
    return None


async def discord_identity(token: str) -> tuple[str, str]:
    """Log in over REST only (no gateway): the bot's name and its invite URL."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        assert client.user is not None and client.application_id is not None
        return str(client.user), invite_url(client.application_id)
    finally:
        await client.close()


async def sync_commands(settings: Settings) -> int:
    """`stembot sync`: log in, register the commands now, and leave."""
    bot = StemBot(settings, sync_only=True)
    async with bot:
        try:
            await bot.login(settings.discord_token.reveal())
        except discord.LoginFailure:
            log.error("Discord rejected DISCORD_TOKEN; check it in the Developer Portal")
            return 1
    return 0
