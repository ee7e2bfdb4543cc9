"""`stembot run`: starts against Discord, and SIGTERM closes the gateway, session and database."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot.bot import run_bot
from bot.config import Secret
from bot.sandbox import Sandbox, serve
from tests.bot_world import world_settings
from tests.standin import DiscordStandin


async def test_sigterm_stops_the_bot_cleanly(tmp_path: Path) -> None:
    async with DiscordStandin() as standin, await serve(Sandbox()) as api:
        guild = standin.add_guild()
        settings = world_settings(tmp_path / "run.sqlite3", api.base_url, standin, guild)
        with standin.patch_discord():
            running = asyncio.create_task(run_bot(settings))
            await standin.wait_ready()
            os.kill(os.getpid(), signal.SIGTERM)
            code = await asyncio.wait_for(running, timeout=10)

    assert code == 0
    assert standin.commands.get(guild.id)  # it had synced to the dev guild at start
    with sqlite3.connect(tmp_path / "run.sqlite3") as db:  # closed and consistent
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_a_rejected_token_exits_with_a_clear_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DiscordStandin() as standin, await serve(Sandbox()) as api:
        guild = standin.add_guild()
        settings = world_settings(tmp_path / "run.sqlite3", api.base_url, standin, guild)
        with standin.patch_discord():
            code = await asyncio.wait_for(
                run_bot(replace(settings, discord_token=Secret("wrong"))), timeout=10
            )

    assert code == 1
    assert "Discord rejected DISCORD_TOKEN" in caplog.text
