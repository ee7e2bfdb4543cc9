"""Helpers for tests: a bot running against the stand-in (tests/_sandbox_fixtures has the clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import discord

if TYPE_CHECKING:
    from .server import DiscordStandin

ClientT = TypeVar("ClientT", bound=discord.Client)


@asynccontextmanager
async def running_bot(
    bot: ClientT, standin: DiscordStandin, *, timeout_s: float = 10, identify_delay: bool = False
) -> AsyncIterator[ClientT]:
    """Log `bot` in to the started stand-in and keep it connected for the block.

    Yields once the stand-in has sent READY and every GUILD_CREATE. discord.py's own `on_ready`
    waits `guild_ready_timeout` (2 s by default) after the last GUILD_CREATE: build test bots
    with `guild_ready_timeout=0.05` if they await `wait_until_ready()`. A failure of
    `bot.connect` (e.g. PrivilegedIntentsRequired) is raised here.

    discord.py waits 5 s before every re-IDENTIFY (Discord's identify rate limit); unless
    `identify_delay` is set, that wait is skipped so invalid-session tests stay fast.
    """
    connecting: asyncio.Task[None] | None = None
    with standin.patch_discord():
        if not identify_delay:
            bot.before_identify_hook = _identify_at_once  # type: ignore[method-assign]
        try:
            await bot.login(standin.token)
            connecting = asyncio.create_task(bot.connect(reconnect=True))
            await _until_ready(bot, standin, connecting, timeout_s)
            yield bot
        finally:
            await bot.close()
            failure = await _stopped(connecting, timeout_s)
    if failure is not None:
        raise failure


async def _identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    return None


async def _until_ready(
    bot: discord.Client, standin: DiscordStandin, connecting: asyncio.Task[None], timeout_s: float
) -> None:
    # A sharded bot waits for its own shards only: other processes may run the rest.
    shard_ids = bot.shard_ids if isinstance(bot, discord.AutoShardedClient) else None
    ready = asyncio.create_task(standin.wait_ready(timeout_s, shard_ids=shard_ids))
    done, _ = await asyncio.wait({ready, connecting}, return_when=asyncio.FIRST_COMPLETED)
    if connecting in done:
        ready.cancel()
        await asyncio.gather(ready, return_exceptions=True)
        raise connecting.exception() or RuntimeError("bot.connect() returned before READY")
    await ready


async def _stopped(
    connecting: asyncio.Task[None] | None, timeout_s: float
) -> BaseException | None:
    """Wait for bot.connect() to end after bot.close(); its failure, if any."""
    if connecting is None:
        return None
    done, _ = await asyncio.wait({connecting}, timeout=timeout_s)
    if not done:
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        return RuntimeError(f"bot.connect() still running {timeout_s} s after bot.close()")
    return None if connecting.cancelled() else connecting.exception()
