"""/stems autocomplete and the 12-stem confirmation, through the real client."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Mode
from tests._bot_helpers import ended_job
from tests.bot_world import TASK, bot_world, button_id, loaded
from tests.standin import StandinError


async def test_task_id_autocomplete_suggests_music_tasks_used_in_this_server(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        await world.result()
        other = world.standin.add_guild("Elsewhere")
        await ended_job(world, world.bob, song="s", task="someone-elses-task", guild_id=other.id)

        asked = await world.command("stems separate", {"task_id": ""}, focused="task_id")
        await asked.wait_response()

        assert asked.autocomplete_choices == [
            {"name": f"Midnight Addiction · {TASK}", "value": TASK}
        ]
        assert world.standin.errors == []


async def test_task_id_autocomplete_filters_by_what_is_typed_and_offers_at_most_25(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        for n in range(30):
            await ended_job(world, world.alice, song=f"song-{n}", task=f"task-{n:02d}")
        await ended_job(world, world.alice, song="x", title="Paper Lanterns", task="lantern-task")

        everything = await world.command("stems separate", focused="task_id")
        by_title = await world.command("stems separate", {"task_id": "lanter"}, focused="task_id")
        await everything.wait_response()
        await by_title.wait_response()

        assert everything.autocomplete_choices is not None
        assert len(everything.autocomplete_choices) == 25
        assert everything.autocomplete_choices[0]["value"] == "lantern-task"  # newest first
        assert by_title.autocomplete_choices == [
            {"name": "Paper Lanterns · lantern-task", "value": "lantern-task"}
        ]
        assert world.standin.errors == []


async def test_suno_id_autocomplete_lists_the_tasks_songs_by_title_and_caches_the_lookup(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        before = world.sandbox.calls["TaskInfo"]

        first = await world.command("stems separate", {"task_id": TASK}, focused="suno_id")
        await first.wait_response()
        typed = await world.command(
            "stems separate", {"task_id": TASK, "suno_id": "alt"}, focused="suno_id"
        )
        await typed.wait_response()

        assert first.autocomplete_choices is not None
        assert [(c["name"].split(" (")[0], c["value"]) for c in first.autocomplete_choices] == [
            ("Midnight Addiction", "demo-song-1"), ("Midnight Addiction", "demo-song-2")
        ]
        assert [c["value"] for c in typed.autocomplete_choices or []] == ["demo-song-2"]
        assert world.sandbox.calls["TaskInfo"] == before + 1  # the second answer was cached
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_suno_id_autocomplete_offers_at_most_25_songs(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.add_music_task("big-task", [(f"song-{n}", f"Take {n}") for n in range(40)])

        asked = await world.command("stems separate", {"task_id": "big-task"}, focused="suno_id")
        await asked.wait_response()

        assert asked.autocomplete_choices is not None
        assert len(asked.autocomplete_choices) == 25
        assert world.standin.errors == []


async def test_job_autocomplete_lists_only_the_users_own_jobs(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        mine = await ended_job(world, world.alice, song="a", title="Alice's Song")
        await ended_job(world, world.bob, song="b", title="Bob's Song")

        status = await world.command("stems status", focused="job", user=world.alice)
        cancel = await world.command("stems cancel", focused="job", user=world.bob)
        await status.wait_response()
        await cancel.wait_response()

        assert [c["value"] for c in status.autocomplete_choices or []] == [mine.id]
        assert "Alice's Song" in (status.autocomplete_choices or [{}])[0]["name"]
        assert cancel.autocomplete_choices == []  # bob's only job has ended: nothing to cancel
        assert world.standin.errors == []


async def test_job_autocomplete_for_cancel_offers_running_jobs(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        await world.set_rules(cooldown_s=0)
        await ended_job(world, world.alice, song="old")
        running = await world.separate(world.alice)
        await running.wait_reply(lambda m: bool(m.embeds))

        cancel = await world.command("stems cancel", focused="job", user=world.alice)
        await cancel.wait_response()

        assert [c["value"] for c in cancel.autocomplete_choices or []] == [2]
        assert world.standin.errors == []


# --- the 12-stem confirmation ------------------------------------------------------------


async def test_full_split_asks_to_confirm_the_cost_before_paying(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)

        prompt = await asked.wait_original(lambda m: bool(m.buttons))

        assert asked.responses[0].ephemeral
        assert prompt.ephemeral
        assert "5 credits" in prompt.content
        assert {b["label"] for b in prompt.buttons} == {"Confirm", "Cancel"}
        assert world.sandbox.calls["estimate-credits"] == 1
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_confirming_the_full_split_submits_and_posts_a_public_status(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        prompt = await asked.wait_original(lambda m: bool(m.buttons))

        pressed = await world.standin.click(prompt, button_id(prompt, "Confirm"), world.alice)
        status = await pressed.wait_followup()
        result = await world.result()

        assert "is accepted" in prompt.content and prompt.buttons == []
        assert not status.ephemeral
        assert "#1" in status.text and "Full split" in status.text
        assert result.pinged_user_ids == {world.alice.id}
        assert len([b for b in result.buttons if b.get("url")]) == 12
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_cancelling_the_full_split_pays_nothing(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        prompt = await asked.wait_original(lambda m: bool(m.buttons))

        pressed = await world.standin.click(prompt, button_id(prompt, "Cancel"), world.alice)
        await pressed.wait_response()

        assert "nothing was spent" in prompt.content and prompt.buttons == []
        assert pressed.followups == []
        assert await world.bot.engine.store.get(1) is None  # no job was even recorded
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_only_the_invoker_can_press_confirm(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        prompt = await asked.wait_original(lambda m: bool(m.buttons))

        with pytest.raises(StandinError, match="only alice can see"):
            await world.standin.click(prompt, button_id(prompt, "Confirm"), world.bob)

        assert prompt.ephemeral
        assert world.creates() == 0


async def test_full_split_without_confirmation_is_submitted_at_once(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(confirm_full_split=False)

        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        status = await asked.wait_reply(lambda m: bool(m.embeds))

        assert not status.ephemeral and status.buttons == []
        assert world.sandbox.calls["estimate-credits"] == 0
        assert world.creates() == 1


async def test_a_full_split_that_reuses_a_result_needs_no_confirmation(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(confirm_full_split=False)
        first = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        await first.wait_reply(lambda m: bool(m.embeds))
        await world.result()
        await world.set_rules(confirm_full_split=True)

        again = await world.separate(world.bob, mode=Mode.INSTRUMENTAL)
        reused = await again.wait_reply(lambda m: bool(m.embeds))

        assert not reused.ephemeral and "no credits were spent" in reused.text
        assert button_id(reused, "Refresh links") == "stems:refresh:1"
        assert world.sandbox.calls["estimate-credits"] == 0
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_the_confirm_buttons_disable_themselves_when_the_offer_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path) as world:
        monkeypatch.setattr(loaded("cogs.stems._views").ConfirmView, "TIMEOUT_S", 0.2)
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        prompt = await asked.wait_original(lambda m: bool(m.buttons))

        await asked.wait_original_edit(lambda m: "expired" in m.content, timeout_s=5)

        assert prompt.buttons and all(b.get("disabled") for b in prompt.buttons)
        assert "nothing was spent" in prompt.content
        assert world.creates() == 0
        assert world.standin.errors == []
