"""Refresh and song autocomplete have a per-member cooldown; autocomplete and the pre-flight
share one song cache, so a repeat costs no call."""

from __future__ import annotations

from pathlib import Path

from tests.bot_world import TASK, bot_world, button_id


async def test_refresh_twice_in_a_row_is_refused_in_plain_words_without_a_call(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        result = await world.result()
        reused = await world.separate(world.bob)  # bob asks too: Refresh is for those who asked
        await reused.wait_reply(lambda m: bool(m.embeds))
        refresh = button_id(result, "Refresh links")
        first = await world.standin.click(result, refresh, world.bob)
        await first.wait_reply(lambda m: bool(m.embeds))
        lookups = world.sandbox.calls["TaskInfo"]

        again = await world.standin.click(result, refresh, world.bob)
        refused = await again.wait_response()
        other = await world.standin.click(result, refresh, world.alice)
        await other.wait_reply(lambda m: bool(m.embeds))

        assert refused.ephemeral
        assert "try again in" in refused.content and "second" in refused.content
        assert world.sandbox.calls["TaskInfo"] == lookups + 1  # alice's refresh only
        assert world.standin.errors == []


async def test_autocomplete_and_the_pre_flight_share_the_song_list(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        before = world.sandbox.calls["TaskInfo"]

        listed = await world.command("stems separate", {"task_id": TASK}, focused="suno_id")
        await listed.wait_response()
        asked = await world.separate(world.bob)
        await asked.wait_reply(lambda m: bool(m.embeds))

        assert world.sandbox.calls["TaskInfo"] == before + 1  # the list, read once
        assert world.creates() == 1


async def test_song_lookups_the_cache_cannot_answer_have_a_cooldown(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        before = world.sandbox.calls["TaskInfo"]

        first = await world.command("stems separate", {"task_id": "no-such"}, focused="suno_id")
        await first.wait_response()
        second = await world.command(
            "stems separate", {"task_id": "no-such-2", "suno_id": "x"}, focused="suno_id"
        )
        await second.wait_response()

        assert first.autocomplete_choices == []
        [choice] = second.autocomplete_choices or []
        assert "try again in" in choice["name"] and choice["value"] == "x"
        assert world.sandbox.calls["TaskInfo"] == before + 1
