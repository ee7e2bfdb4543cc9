"""The happy path once per documented API dialect, and the free pre-flight's reading of song lists.

The real discord.py client against the Discord stand-in and the sandbox (issue 9, findings 3, 8, 9).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.jobs import JobState, Mode
from bot.sandbox import DIALECTS, Dialect
from tests.bot_world import SLOW_S, World, bot_world, button_id, private_answer
from tests.standin import Message

TWO = ["Vocals", "Instrumental"]
FULL_SPLIT = [
    "Vocals", "Backing vocals", "Drums", "Bass", "Guitar", "Keyboard", "Strings", "Brass",
    "Woodwinds", "Percussion", "Synth", "FX / other",
]  # fmt: skip


def links(message: Message) -> dict[str, str]:
    return {str(b["label"]): str(b["url"]) for b in message.buttons if b.get("url")}


async def fetch_all(urls: list[str]) -> list[bytes]:
    async with aiohttp.ClientSession() as session:
        bodies = []
        for url in urls:
            async with session.get(url) as resp:
                assert resp.status == 200, url
                bodies.append(await resp.read())
    return bodies


async def split(world: World, mode: Mode, song: str) -> Message:
    asked = await world.separate(world.alice, mode=mode, song=song)
    if mode is Mode.INSTRUMENTAL:
        question = await asked.wait_original(lambda m: not m.loading)
        await world.standin.click(question, button_id(question, "Confirm"), world.alice)
    return await world.result(lambda m: bool(m.embeds) and song_named(m, song))


def song_named(message: Message, song: str) -> bool:
    title = "Midnight Addiction (alt take)" if song == "demo-song-2" else "Midnight Addiction"
    return title in message.text and (song == "demo-song-2" or "alt take" not in message.text)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
async def test_every_dialect_delivers_every_stem_labelled_in_words_with_working_links(
    tmp_path: Path, dialect: str
) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(cooldown_s=0.0)
        world.sandbox.use_dialect(dialect)

        two = await split(world, Mode.VOCAL, "demo-song-1")
        twelve = await split(world, Mode.INSTRUMENTAL, "demo-song-2")
        audio = await fetch_all([*links(two).values(), *links(twelve).values()])

        assert list(links(two)) == TWO
        assert list(links(twelve)) == FULL_SPLIT
        description = twelve.embeds[0]["description"]
        positions = [description.index(f"**{label}**") for label in FULL_SPLIT]
        assert positions == sorted(positions)  # every stem named, in a musician's order
        assert all(body.startswith(b"ID3") for body in audio) and len(audio) == 14
        assert two.pinged_user_ids == {world.alice.id}
        assert world.creates() == 2
        assert world.standin.errors == []


async def test_a_music_task_with_an_unfamiliar_word_but_its_songs_is_split(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.add_music_task("odd-task", [("odd-song", "Odd Word")], status="ALL_DONE")

        asked = await world.separate(world.alice, task="odd-task", song="odd-song")
        result = await world.result()

        status = await asked.wait_reply(lambda m: bool(m.embeds))
        assert "Odd Word" in status.text
        assert list(links(result)) == TWO
        assert world.creates() == 1


OPAQUE = Dialect("opaque", song_id_key="clip_uuid")  # songs listed, ids under a key we can't read


async def test_a_song_list_the_bot_cannot_read_lets_the_api_judge_the_song(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(cooldown_s=0.0)
        world.sandbox.use_dialect(OPAQUE)

        good = await world.separate(world.alice)
        result = await world.result()
        bad = await world.separate(world.bob, song="demo-song-9")
        refused = await private_answer(bad)
        await world.settle()

        assert (await good.wait_reply(lambda m: bool(m.embeds))).embeds
        assert list(links(result)) == TWO
        # issue 12: the API's words go to the log; the member reads ours
        assert refused.ephemeral and "refused this request" in refused.content
        assert "suno" not in refused.content
        assert world.creates() == 2  # the API judged the second song: its 422 made nothing
        assert (await world.job(2)).state is JobState.FAILED
        assert world.standin.errors == []


async def test_song_titles_listed_in_a_refusal_are_escaped(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        hostile = f"@everyone **loud** {world.bob.mention} [x](https://evil.example) `tick"
        world.sandbox.add_music_task("hostile-task", [("hostile-song", hostile)])

        asked = await world.separate(world.alice, task="hostile-task", song="other-song")
        refused = await private_answer(asked)

        assert refused.ephemeral and "It holds: `hostile-song`" in refused.content
        assert "\\*\\*loud\\*\\*" in refused.content and "**loud**" not in refused.content
        assert "@everyone" not in refused.content and world.bob.mention not in refused.content
        assert "[x](" not in refused.content and "\\`tick" in refused.content
        assert not refused.pings_everyone and not refused.pinged_user_ids
        assert world.creates() == 0


async def test_a_reseller_failure_word_is_told_at_once_with_its_reason(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        world.sandbox.use_dialect("reseller")
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))

        world.sandbox.finish(await world.remote_id(1), success=False, message="no vocals found")
        told = await world.result()

        assert "could not split this song" in told.text  # issue 12: API words only in the log
        assert "no vocals found" not in told.text
        assert (await world.job(1)).state is JobState.FAILED  # not TIMED_OUT at the deadline
        assert told.pinged_user_ids == {world.alice.id}
        assert world.standin.errors == []
