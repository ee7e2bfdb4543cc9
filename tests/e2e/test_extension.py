"""The /stems commands are an extension loaded by name: reloaded in place, they go on working."""

from __future__ import annotations

from pathlib import Path

from bot.bot import StemBot
from tests.bot_world import bot_world, button_id


async def test_the_bot_loads_the_stems_extension_by_name(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        assert StemBot.initial_extensions == ("cogs.stems",)
        assert list(world.bot.extensions) == ["cogs.stems"]
        assert world.bot.get_cog("Stems") is not None


async def test_after_a_reload_commands_results_and_old_buttons_still_work(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        before = await world.result()
        old_cog = world.bot.get_cog("Stems")

        await world.bot.reload_extension("cogs.stems")
        asked = await world.separate(world.bob, song="demo-song-2")
        after = await world.result(lambda m: m.id != before.id)
        status = await world.command("stems status", {"job": 1}, user=world.alice)
        pressed = await world.standin.click(
            before, button_id(before, "Refresh links"), world.alice
        )

        assert world.bot.get_cog("Stems") not in (None, old_cog)
        assert (await asked.wait_reply(lambda m: bool(m.embeds))).embeds
        assert after.pinged_user_ids == {world.bob.id}
        assert (await status.wait_response()).ephemeral
        fresh = await pressed.wait_reply(lambda m: bool(m.embeds))
        assert fresh.ephemeral and "Fresh links" in fresh.text
        assert world.creates() == 2
        assert world.standin.errors == []
