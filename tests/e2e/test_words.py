"""issue 12: what members read. Every message of the main flows, in English, free of internals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.jobs import Mode
from bot.sandbox import Fault
from tests.bot_world import SLOW_S, World, bot_world, loaded, private_answer

# Markup that legitimately holds digits or ids: mentions, channels, timestamps, links, code.
MARKUP = re.compile(r"<[@#&!t:][^>]*>|\(https?://[^)]*\)|https?://\S+|`[^`]*`")
INTERNALS = {
    "an HTTP or Discord error code": re.compile(r"\b(?:[1-5]\d\d|[1-9]\d{4})\b"),
    "the API": re.compile(r"\bAPI\b|\bupstream\b|\bHTTP\b|this account", re.IGNORECASE),
    "a raw state": re.compile(r"\b(?:timed_out|succeeded|submitting)\b|\((?:running|failed)\)"),
    "a raw mode": re.compile(r"\bmode `?(?:vocal|instrumental)`?|`(?:vocal|instrumental)`"),
    "a stale promise": re.compile(r"I'll ping you"),
}


def internals_in(text: str) -> list[str]:
    plain = MARKUP.sub(" ", text)
    return [name for name, pattern in INTERNALS.items() if pattern.search(plain)]


def everything_shown(world: World) -> list[str]:
    """Every message and every interaction response the bot produced, as members see them."""
    texts = [m.text for m in world.standin.messages if m.text]
    for interaction in world.standin.interactions.values():
        for response in interaction.responses:
            data = response.data or {}
            texts.append(str(data.get("content") or ""))
            texts += [str(c.get("name")) for c in data.get("choices", [])]
    return [t for t in texts if t]


async def main_flows(world: World) -> None:
    """Success, join, reuse, full split, refusals, a failure, a time-out, cancel, status, list."""
    await world.set_rules(cooldown_s=0)
    await private_answer(await world.separate(world.alice, task="no-such-task"))
    await private_answer(await world.separate(world.alice, song="demo-song-9"))
    first = await world.separate(world.alice)
    await first.wait_reply(lambda m: bool(m.embeds))
    joined = await world.separate(world.bob)
    await joined.wait_reply(lambda m: "pinged too" in m.text)
    await world.command("stems status", {"job": 1}, user=world.alice)
    await world.command("stems cancel", {"job": 1}, user=world.bob)
    world.sandbox.finish(await world.remote_id(1))
    await world.result()
    reused = await world.separate(world.bob)  # for free
    await reused.wait_reply(lambda m: bool(m.embeds))
    full = await world.separate(world.alice, mode=Mode.INSTRUMENTAL)
    prompt = await full.wait_original(lambda m: bool(m.buttons))
    confirm = next(str(b["custom_id"]) for b in prompt.buttons if b.get("style") == 3)  # green
    pressed = await world.standin.click(prompt, confirm, world.alice)
    await pressed.wait_followup()
    world.sandbox.finish(await world.remote_id(2), success=False, message="HTTP 500 upstream")
    await world.result(lambda m: "could not be made" in m.content)
    await world.set_rules(allowed_modes=(Mode.VOCAL,))
    await (await world.separate(world.alice, mode=Mode.INSTRUMENTAL)).wait_response()
    await world.set_rules(allowed_modes=(Mode.VOCAL, Mode.INSTRUMENTAL))
    third = await world.separate(world.alice, song="demo-song-2")
    await third.wait_reply(lambda m: bool(m.embeds))
    asked = [
        await world.command("stems cancel", {"job": 3}, user=world.alice),
        await world.command("stems list"),
        await world.command("stems status", {"job": 2}),
        await world.command("stems status", {"job": ""}, focused="job"),
    ]
    for interaction in asked:
        await interaction.wait_response()
        if interaction.autocomplete_choices is None:
            await interaction.wait_reply(lambda m: not m.loading)
    world.sandbox.inject("CreateTask", Fault("code", code=422, message="API says 422 no"))
    await private_answer(await world.separate(world.bob, song="demo-song-2"))


async def test_every_message_of_the_main_flows_is_free_of_internals(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await main_flows(world)
        await world.settle()

        shown = everything_shown(world)

        assert len(shown) > 20  # the flows did run
        assert any("could not split this song" in t for t in shown)
        assert any("Cancelled job `#3`" in t for t in shown)
        assert internals_in("Job #1 failed: HTTP 500 from the API; state timed_out")
        found = {text: internals_in(text) for text in shown if internals_in(text)}
        assert found == {}


async def test_an_ended_job_s_public_status_tells_its_end_not_the_promise(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        asked = await world.separate(world.alice)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        promised = status.text

        await world.command("stems cancel", {"job": 1}, user=world.alice)
        ended = await asked.wait_reply(lambda m: m.edited and "Cancelled" in m.text)

        assert "will be posted in" in promised
        assert "will be posted in" not in ended.text
        assert f"Cancelled by <@{world.alice.id}>" in ended.text
        assert ended.pinged_user_ids == set()  # named, not pinged


async def test_past_the_token_s_life_the_status_is_kept_true_through_its_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        monkeypatch.setattr(loaded("cogs.stems._status"), "TOKEN_LIFETIME_S", -1.0)
        asked = await world.separate(world.alice)
        status = await asked.wait_reply(lambda m: bool(m.embeds))

        world.sandbox.finish(await world.remote_id(1))
        await world.result()
        ended = await asked.wait_reply(lambda m: m.edited and "Finished" in m.text)

        assert ended is status and "will be posted in" not in ended.text
        assert "the stems are posted in" in ended.text
        assert world.standin.errors == []


async def test_the_page_buttons_disable_themselves_when_they_time_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path) as world:
        monkeypatch.setattr(loaded("cogs.stems._views").PagerView, "TIMEOUT_S", 0.2)
        listed = await world.command("stems list", user=world.alice)
        page = await listed.wait_original(lambda m: bool(m.buttons))

        await listed.wait_original(lambda m: m.edited and all(b.get("disabled") for b in m.buttons))

        assert page.buttons and all(b.get("disabled") for b in page.buttons)
        assert world.standin.errors == []
