"""/stems separate end to end: the real discord.py client, the Discord stand-in, the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Delivery, JobState, Mode
from bot.sandbox import Fault
from tests.bot_world import SLOW_S, bot_world, button_id, private_answer
from tests.standin import Message

FULL_SPLIT = [
    "Vocals", "Backing vocals", "Drums", "Bass", "Guitar", "Keyboard", "Strings", "Brass",
    "Woodwinds", "Percussion", "Synth", "FX / other",
]


def link_labels(message: Message) -> list[str]:
    return [str(b["label"]) for b in message.buttons if b.get("url")]


async def test_vocal_split_posts_two_stems_and_pings_only_the_requester(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        interaction = await world.separate(world.alice)

        first = await interaction.wait_response()
        result = await world.result()

        # issue 12: the "thinking…" is private; the public status comes once accepted
        assert first.type == 5 and first.ephemeral
        status = await interaction.wait_reply(lambda m: bool(m.embeds))
        assert not status.ephemeral and interaction.original is not None
        assert interaction.original.ephemeral and "is accepted" in interaction.original.text
        assert "Midnight Addiction" in status.text and "#1" in status.text
        assert result.channel_id == world.channel.id
        assert result.pinged_user_ids == {world.alice.id}
        assert not result.pings_everyone and not result.pinged_roles
        assert link_labels(result) == ["Vocals", "Instrumental"]
        assert any(b.get("custom_id") == "stems:refresh:1" for b in result.buttons)
        assert "job `#1`" in result.text and "took" in result.text
        assert "Links expire <t:" in result.text
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_full_split_is_paid_only_after_confirm_and_lists_twelve_stems_in_order(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        question = await asked.wait_original(lambda m: not m.loading)
        asked_text, creates_before_confirm = question.text, world.creates()

        await world.standin.click(question, button_id(question, "Confirm"), world.alice)
        result = await world.result()

        assert question.ephemeral and "5 credits" in asked_text
        assert creates_before_confirm == 0
        assert link_labels(result) == FULL_SPLIT
        description = result.embeds[0]["description"]
        positions = [description.index(f"**{label}**") for label in FULL_SPLIT]
        assert positions == sorted(positions)  # every stem named, in a musician's order
        assert len(result.buttons) <= 25 and len(result.components) <= 5
        assert len(result.content) <= 2000 and len(description) <= 4096
        assert result.pinged_user_ids == {world.alice.id}
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_every_stem_stays_reachable_when_some_links_are_too_long_for_buttons(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(confirm_full_split=False)
        interaction = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
        await interaction.wait_reply(lambda m: bool(m.embeds))
        remote_id = await world.remote_id(1)
        world.sandbox.finish(remote_id)
        stems = world.sandbox.separations[remote_id].stems
        for key in ("synth_url", "fx_url"):  # past Discord's 512 characters for a button URL
            stems[key] += "&Policy=" + "p" * 300

        result = await world.result()

        description = result.embeds[0]["description"]
        buttons = {b["url"] for b in result.buttons if b.get("url")}
        assert len(stems) == 12
        for path in stems.values():  # each stem is a link in the text or a button, or both
            assert f"{path})" in description or any(b.endswith(path) for b in buttons), path
        assert link_labels(result) == [s for s in FULL_SPLIT if s not in ("Synth", "FX / other")]
        assert world.standin.errors == []


async def test_a_finished_song_asked_again_is_reused_at_once_for_free(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        await world.result()

        again = await world.separate(world.bob)
        reply = await again.wait_reply(lambda m: bool(m.embeds))
        await world.settle()

        assert "no credits were spent" in reply.text and "#1" in reply.text
        assert link_labels(reply) == ["Vocals", "Instrumental"]
        assert not reply.pinged_user_ids
        assert world.creates() == 1
        assert len(world.posted()) == 1  # alice's result only: bob saw his on the spot
        assert [s.delivery for s in await world.subscriptions(1)] == [
            Delivery.CHANNEL, Delivery.SHOWN,
        ]
        assert world.standin.errors == []


async def test_a_second_requester_joins_the_running_job_and_one_result_pings_both(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        first = await world.separate(world.alice)
        await first.wait_reply(lambda m: bool(m.embeds))

        joined = await world.separate(world.bob)
        told = (await joined.wait_reply(lambda m: bool(m.embeds))).text
        world.sandbox.finish(await world.remote_id(1))
        result = await world.result()
        await world.settle()

        assert "will be pinged too" in told and "#1" in told
        assert result.pinged_user_ids == {world.alice.id, world.bob.id}
        assert world.posted() == [result]
        assert world.creates() == 1
        assert world.standin.errors == []


# --- bad input: refused before anything is paid ------------------------------------------


@pytest.mark.parametrize(
    ("task", "song", "says"),
    [
        ("not a task id!", "demo-song-1", "task id doesn't look right"),
        ("demo-music-task", "no spaces allowed", "song id doesn't look right"),
    ],
)
async def test_malformed_ids_are_refused_privately_at_once(
    tmp_path: Path, task: str, song: str, says: str
) -> None:
    async with bot_world(tmp_path) as world:
        interaction = await world.separate(world.alice, task=task, song=song)

        response = await interaction.wait_response()

        assert response.type == 4 and response.ephemeral and says in response.content
        assert world.sandbox.calls["TaskInfo"] == 0 and world.creates() == 0
        assert world.standin.errors == []


@pytest.mark.parametrize(
    ("task", "song", "says"),
    [
        ("no-such-task", "demo-song-1", "No music task `no-such-task` was found"),
        ("demo-pending-task", "demo-pending-song", "hasn't finished yet"),
        (
            "demo-music-task", "demo-song-9",
            "Song `demo-song-9` is not in music task `demo-music-task`. It holds: `demo-song-1` "
            "(Midnight Addiction) and `demo-song-2` (Midnight Addiction (alt take))",
        ),
    ],
)
async def test_a_request_the_free_lookup_rejects_costs_nothing_and_is_told_privately(
    tmp_path: Path, task: str, song: str, says: str
) -> None:
    async with bot_world(tmp_path) as world:
        interaction = await world.separate(world.alice, task=task, song=song)

        error = await private_answer(interaction)  # issue 12: no public flash

        assert says in error.content
        assert world.creates() == 0 and world.posted() == []
        assert world.standin.errors == []


async def test_a_channel_the_bot_cannot_post_in_is_refused_before_paying(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        world.standin.set_bot_permissions(world.channel, send=False)

        interaction = await world.separate(world.alice)
        response = await interaction.wait_response()

        assert response.ephemeral and "missing Send Messages" in response.content
        assert "Nothing was spent" in response.content
        assert world.sandbox.calls["TaskInfo"] == 0 and world.creates() == 0
        assert world.standin.errors == []


async def test_a_create_task_the_api_refuses_is_told_privately_and_posts_nothing(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        interaction = await world.separate(world.alice, task="demo-error-402")

        error = await private_answer(interaction)
        await world.settle()

        assert error.ephemeral and "out of credits" in error.content
        assert world.creates() == 1 and world.posted() == []
        assert (await world.job(1)).state == JobState.FAILED
        assert world.standin.errors == []


async def test_an_unanswered_create_task_is_not_resent_nor_retried_on_advice(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.inject("CreateTask", Fault("timeout", delay_s=2.0))

        interaction = await world.separate(world.alice)
        error = await private_answer(interaction)
        await world.settle()

        assert error.ephemeral and "may have started (and charged) it" in error.content
        assert "try again" not in error.content
        assert world.creates() == 1 and world.posted() == []
        assert world.standin.errors == []


# --- output safety -----------------------------------------------------------------------


async def test_hostile_song_titles_and_errors_are_escaped_and_ping_nobody_else(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        role = world.standin.add_role(world.guild, "fans")
        hostile = f"@everyone **loud** {world.bob.mention} {role.mention} @here"
        world.sandbox.add_music_task("hostile-task", [("hostile-song", hostile)])
        interaction = await world.separate(world.alice, task="hostile-task", song="hostile-song")
        status = await interaction.wait_reply(lambda m: bool(m.embeds))

        world.sandbox.finish(await world.remote_id(1), success=False, message="@everyone *boom*")
        told = await world.result()

        for message in (status, told):
            assert not message.pings_everyone and not message.pinged_roles
        assert status.pinged_user_ids == set()
        assert told.pinged_user_ids == {world.alice.id}
        # issue 12: the API's words are not shown at all; the title is escaped in the embed
        assert "\\*\\*loud\\*\\*" in told.text and "boom" not in told.text
        assert "@everyone" not in told.content and "@here" not in told.content
        assert "\\*\\*loud\\*\\*" in status.text
        assert world.standin.errors == []
