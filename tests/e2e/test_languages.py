"""issue 12: who reads which language. Private replies: the member's; public ones: the server's.

The shipped catalogs are empty until round 2, so these tests fill every catalog with a tagged
copy of English ("[pt_BR] …") and check which one each reader got, through the real client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import i18n
from bot.jobs import Mode
from tests._catalogs import tagged, write_catalog
from tests.bot_world import SLOW_S, World, bot_world, button_id, private_answer
from tests.e2e.test_words import main_flows
from tests.standin.errors import DiscordError
from tests.standin.localization_rules import check_localizations

SHIPPED_KEYS = {"es-ES", "es-419", "pt-BR", "de", "fr", "ja"}


@pytest.fixture(autouse=True)
def translated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    locales = tmp_path / "locales"
    for language in i18n.SHIPPED:
        write_catalog(locales, language, tagged(language))
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


async def in_german_server(world: World) -> None:
    world.guild.locale = "de"
    await world.restart_bot()  # the server's language arrives with GUILD_CREATE


async def test_a_pt_br_member_reads_the_refusal_status_and_confirmation_in_portuguese(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        world.alice.locale = "pt-BR"
        refused = await world.separate(world.alice, song="not a song id!")
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        status = await world.command("stems status", {"job": 1}, user=world.alice)
        shown = await status.wait_reply(lambda m: bool(m.embeds))
        await world.set_rules(cooldown_s=0)
        full = await world.separate(world.alice, song="demo-song-2", mode=Mode.INSTRUMENTAL)
        prompt = await full.wait_original(lambda m: bool(m.buttons))

        first = await refused.wait_response()
        assert first.ephemeral and first.content.startswith("[pt_BR] That song id")
        assert shown.ephemeral and shown.embeds[0]["title"].startswith("[pt_BR] Stems:")
        assert prompt.content.startswith("[pt_BR] The full split")
        assert button_id(prompt, "[pt_BR] Confirm")
        assert world.standin.errors == []


async def test_in_a_german_server_the_public_result_is_german_with_ping_and_links(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        await in_german_server(world)
        asked = await world.separate(world.alice)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        world.sandbox.finish(await world.remote_id(1))
        result = await world.result()

        assert not status.ephemeral and status.embeds[0]["title"].startswith("[de] Stems:")
        assert result.content == f"[de] {world.alice.mention} your stems are ready."
        assert result.pinged_user_ids == {world.alice.id}
        labels = [b["label"] for b in result.buttons if b.get("url")]
        assert labels == ["[de] Vocals", "[de] Instrumental"]  # the stems' names too
        assert all(str(b["url"]).startswith("http") for b in result.buttons if b.get("url"))
        assert world.standin.errors == []


async def test_a_japanese_member_in_a_german_server_is_answered_in_japanese(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        await in_german_server(world)
        await world.set_rules(cooldown_s=0)
        world.bob.locale = "ja"
        asked = await world.separate(world.bob)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        refused = await world.separate(world.bob, task="no-such-task")

        accepted = asked.original
        assert accepted is not None and accepted.text.startswith("[ja] Job `#1`")
        assert status.embeds[0]["title"].startswith("[de] ")  # the public status: German
        assert (await private_answer(refused)).content.startswith("[ja] No music task")


async def test_a_pt_br_member_whose_channel_refused_the_result_gets_the_dm_in_portuguese(
    tmp_path: Path,
) -> None:
    """The result comes long after the command: the member's language was remembered."""
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        await in_german_server(world)
        world.alice.locale = "pt-BR"
        asked = await world.separate(world.alice)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        world.standin.set_bot_permissions(world.channel, send=False)

        world.sandbox.finish(await world.remote_id(1))
        dm = await world.dm(world.alice)
        await world.settle()

        assert status.embeds[0]["title"].startswith("[de] ")  # public: the server's
        assert dm.content == "[pt_BR] From **Stem Lovers**: your stems are ready."
        labels = [b["label"] for b in dm.buttons if b.get("url")]  # the tag's "_" is escaped
        assert labels == ["[pt\\_BR] Vocals", "[pt\\_BR] Instrumental"]
        assert [e.code for e in world.standin.errors] == [50013]  # the refused channel post


async def test_a_failure_told_by_dm_reads_its_ending_in_the_member_s_language(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        await in_german_server(world)
        world.alice.locale = "pt-BR"
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        world.standin.set_bot_permissions(world.channel, send=False)

        world.sandbox.finish(await world.remote_id(1), success=False,
                             message="HTTP 500 upstream model crashed")
        dm = await world.dm(world.alice)
        await world.settle()

        assert dm.content == "[pt_BR] From **Stem Lovers**: your stems could not be made."
        fields = {f["name"]: f["value"] for f in dm.embeds[0]["fields"]}
        assert fields["[pt_BR] What happened"] == (
            "[pt_BR] The stem service could not split this song.")
        assert "crashed" not in dm.text and "[de]" not in dm.text


async def test_a_language_that_is_not_shipped_reads_english(tmp_path: Path) -> None:
    async with bot_world(tmp_path / "world") as world:
        world.alice.locale = "ko"
        refused = await world.separate(world.alice, song="not a song id!")

        assert (await refused.wait_response()).content.startswith("That song id")


async def test_an_admin_set_language_wins_over_the_servers_own(tmp_path: Path) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        await in_german_server(world)
        configured = await world.command("stems config", {"language": "fr"}, user=world.admin)
        asked = await world.separate(world.alice)

        status = await asked.wait_reply(lambda m: bool(m.embeds))
        settings = await configured.wait_original(lambda m: bool(m.embeds))

        assert status.embeds[0]["title"].startswith("[fr] ")
        assert "Français" in settings.text  # the language named in itself


def longer(source: str) -> str:
    """A language half again as long as English, with accents (German runs ~30 % longer)."""
    text = f"{source} {'ü' * (len(source) // 2)}"
    return text if "{" in source else text[:100]


async def test_every_main_flow_fits_discords_limits_in_a_longer_language(
    tmp_path: Path,
) -> None:
    write_catalog(i18n.LOCALES_DIR, "de", longer)
    i18n.translations.cache_clear()
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        for user in (world.alice, world.bob, world.admin):
            user.locale = "de"
        await world.set_rules(language="de")
        await main_flows(world)
        await world.set_rules(confirm_full_split=False)
        twelve = await world.separate(world.bob, song="demo-song-2", mode=Mode.INSTRUMENTAL)
        answer = await twelve.wait_original(lambda m: not m.loading)
        assert answer.embeds or "accepted" in answer.text, answer.text
        world.sandbox.finish(await world.remote_id(5))
        result = await world.result(lambda m: len(m.buttons) > 10)
        await world.settle()

        assert "ü" in result.content and len(result.buttons) == 13  # 12 stems + Refresh
        assert world.standin.errors == []  # every message within Discord's limits


async def test_the_synced_tree_carries_localizations_for_every_shipped_language(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world") as world:
        (stems,) = world.standin.commands[world.guild.id]

        assert set(stems["description_localizations"]) == SHIPPED_KEYS
        assert stems["description_localizations"]["pt-BR"].startswith("[pt_BR] ")
        assert "name_localizations" not in stems or not stems["name_localizations"]
        separate = next(o for o in stems["options"] if o["name"] == "separate")
        assert set(separate["description_localizations"]) == SHIPPED_KEYS
        assert not separate.get("name_localizations")  # names stay English
        mode = next(o for o in separate["options"] if o["name"] == "mode")
        assert all(set(c["name_localizations"]) == SHIPPED_KEYS for c in mode["choices"])
        assert world.standin.errors == []  # accepted by the stand-in's limits


@pytest.mark.parametrize(
    ("localizations", "why"),
    [
        ({"de": "x" * 101}, "BASE_TYPE_BAD_LENGTH"),
        ({"pt": "Português"}, "ENUM_TYPE_COERCE"),
        ({"ja": ""}, "BASE_TYPE_BAD_LENGTH"),
    ],
)
def test_the_stand_in_refuses_localizations_discord_would_refuse(
    localizations: dict[str, str], why: str
) -> None:
    command = {"name": "stems", "description": "Stems", "options": [{
        "name": "mode", "description": "Mode", "type": 3,
        "choices": [{"name": "Full", "value": "full", "name_localizations": localizations}],
    }]}

    with pytest.raises(DiscordError) as refused:
        check_localizations([command])

    assert refused.value.status == 400 and why in str(refused.value.body())
