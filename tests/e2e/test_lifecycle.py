"""The bot's life: command sync, invite URL, intents, shutdown, the persistent Refresh button."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.bot import COMMAND_HASH_KEY, StemBot
from bot.config import Secret, Settings
from bot.sandbox import Sandbox, serve
from tests._settings import make_settings
from tests._sqlite import sqlite
from tests.bot_world import bot_world, button_id
from tests.standin import Channel, DiscordStandin, Guild, User, running_bot
from tests.standin.gateway import PRIVILEGED_INTENTS

SUBCOMMANDS = {"separate", "status", "list", "cancel", "config", "credits"}


@dataclass
class GlobalWorld:
    """A bot without DEV_GUILD_ID: its commands are global."""

    standin: DiscordStandin
    settings: Settings
    guild: Guild
    channel: Channel
    alice: User


@asynccontextmanager
async def global_world(tmp_path: Path) -> AsyncIterator[GlobalWorld]:
    async with DiscordStandin() as standin, await serve(Sandbox()) as server:
        guild = standin.add_guild("Stem Lovers")
        channel = standin.add_channel(guild, "music")
        alice = standin.add_member(guild, "alice")
        settings = make_settings(
            tmp_path / "bot.sqlite3", server.base_url, discord_token=Secret(standin.token)
        )
        yield GlobalWorld(standin, settings, guild, channel, alice)


# --- command sync ----------------------------------------------------------------------------


async def test_with_a_dev_guild_the_commands_are_synced_there_at_start(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        (stems,) = world.standin.commands[world.guild.id]

        assert world.standin.sync_calls == {world.guild.id: 1}
        assert stems["name"] == "stems"
        assert {o["name"] for o in stems["options"]} == SUBCOMMANDS
        separate = next(o for o in stems["options"] if o["name"] == "separate")
        mode = next(o for o in separate["options"] if o["name"] == "mode")
        # English name and value; the shipped catalogs add name_localizations (issue 12)
        assert [{"name": c["name"], "value": c["value"]} for c in mode["choices"]] == [
            {"name": "Vocals + instrumental (2 stems)", "value": "vocal"},
            {"name": "Full split (up to 12 stems)", "value": "instrumental"},
        ]


async def test_global_commands_are_not_synced_again_when_unchanged(tmp_path: Path) -> None:
    async with global_world(tmp_path) as world:
        async with running_bot(StemBot(world.settings), world.standin):
            first = world.standin.sync_calls[None]

        async with running_bot(StemBot(world.settings), world.standin):
            asked = await world.standin.invoke(
                world.guild, world.channel, world.alice, "stems list"
            )
            await asked.wait_response()

        assert first == 1
        assert world.standin.sync_calls == {None: 1}  # the restart did not sync
        assert asked.original is not None and asked.original.ephemeral
        assert world.standin.errors == []


async def test_a_forced_sync_syncs_even_when_the_commands_are_unchanged(
    tmp_path: Path,
) -> None:
    async with global_world(tmp_path) as world:
        async with running_bot(StemBot(world.settings), world.standin) as bot:
            unchanged = await bot.sync_commands()
            forced = await bot.sync_commands(force=True)

        assert (unchanged, forced) == ("unchanged", "global")
        assert world.standin.sync_calls == {None: 2}


async def test_a_changed_command_set_is_synced_again_at_start(tmp_path: Path) -> None:
    async with global_world(tmp_path) as world:
        async with running_bot(StemBot(world.settings), world.standin) as bot:
            await bot.guild_store.set_meta(COMMAND_HASH_KEY, "an older command set")

        async with running_bot(StemBot(world.settings), world.standin):
            pass

        assert world.standin.sync_calls == {None: 2}


async def test_the_invite_url_asks_for_both_scopes_and_exactly_the_needed_permissions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.bot")
    async with bot_world(tmp_path) as world:
        application_id = world.standin.application_id

    (line,) = [r.getMessage() for r in caplog.records if "invite" in r.getMessage()]
    query = parse_qs(urlsplit(line.split()[-1]).query)
    assert query["client_id"] == [str(application_id)]
    assert set(query["scope"][0].split()) == {"bot", "applications.commands"}
    assert discord.Permissions(int(query["permissions"][0])) == discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True, embed_links=True
    )


# --- intents and shutdown ----------------------------------------------------------------------


async def test_the_bot_asks_for_no_privileged_intent(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        session = world.standin.gateway.session

        assert session is not None and session.intents & PRIVILEGED_INTENTS == 0
        assert world.bot.intents == discord.Intents.default()
        assert not world.bot.intents.message_content and not world.bot.intents.members


async def test_closing_the_bot_closes_the_engine_session_scheduler_and_database(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        engine = world.bot.engine
        assert engine.scheduler.alive and not engine.session.closed

        await world.bot.close()

        assert not engine.scheduler.alive
        assert engine.session.closed
        with pytest.raises(ValueError, match=r"no active connection|Connection closed"):
            await sqlite(engine.store).scalar("SELECT 1")


# --- the persistent Refresh links button -------------------------------------------------------


async def test_refresh_links_posts_fresh_links_privately(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        result = await world.result()
        lookups = world.sandbox.calls["TaskInfo"]

        pressed = await world.standin.click(
            result, button_id(result, "Refresh links"), world.alice
        )
        fresh = await pressed.wait_reply(lambda m: bool(m.embeds))

        assert pressed.responses[0].ephemeral and fresh.ephemeral
        assert "Fresh links" in fresh.text
        assert [b["label"] for b in fresh.buttons if b.get("url")] == ["Vocals", "Instrumental"]
        assert world.sandbox.calls["TaskInfo"] == lookups + 1  # re-read from the API
        assert not result.edited
        assert world.standin.errors == []


async def test_refresh_links_still_works_after_a_restart(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        result = await world.result()

        await world.restart_bot()
        pressed = await world.standin.click(
            result, button_id(result, "Refresh links"), world.alice
        )
        fresh = await pressed.wait_reply(lambda m: bool(m.embeds))

        assert fresh.ephemeral and "Fresh links" in fresh.text
        assert world.standin.errors == []


async def test_refresh_links_works_on_a_result_delivered_by_dm(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        world.standin.set_bot_permissions(world.channel, send=False)
        for remote_id in world.sandbox.separations:
            world.sandbox.finish(remote_id)
        dm = await world.standin.wait_message(
            lambda m: m.channel_id == world.standin.dm_channel(world.alice).id
        )

        pressed = await world.standin.click(dm, button_id(dm, "Refresh links"), world.alice)
        fresh = await pressed.wait_original(lambda m: bool(m.embeds) or bool(m.content))

        assert "Fresh links" in fresh.text
        assert [b["label"] for b in fresh.buttons if b.get("url")] == ["Vocals", "Instrumental"]
        assert [e.code for e in world.standin.errors] == [50013]  # the channel, hence the DM
