"""/stems separate end to end: the real discord.py client, the Discord stand-in, the sandbox."""

from __future__ import annotations

from pathlib import Path

from bot.jobs import Mode
from tests.bot_world import bot_world


async def test_vocal_split_posts_two_stems_and_pings_only_the_requester(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        interaction = await world.separate(world.alice)

        first = await interaction.wait_response()
        result = await world.result()

        assert first.type == 5 and not first.ephemeral  # public "thinking…" at once
        status = await interaction.wait_original(lambda m: bool(m.embeds))
        assert "Midnight Addiction" in status.text and "#1" in status.text
        assert result.channel_id == world.channel.id
        assert result.pinged_user_ids == {world.alice.id}
        assert not result.pings_everyone and not result.pinged_roles
        links = [b for b in result.buttons if b.get("url")]
        assert [b["label"] for b in links] == ["Vocals", "Instrumental"]
        assert any(b.get("custom_id") == "stems:refresh:1" for b in result.buttons)
        assert "Links expire <t:" in result.text
        assert world.creates() == 1
        assert world.standin.errors == []
