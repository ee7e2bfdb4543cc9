"""issue 12: the shipped Spanish catalog (es-ES and es-419) is complete, within Discord's limits,
consistent in its terms, and what a Spanish-speaking member and server really read."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from discord import app_commands

from bot import i18n
from bot.i18n import _, speaking
from bot.jobs import Mode
from cogs.stems._cog import Stems
from cogs.stems._views import REFRESH
from cogs.stems._words import STEM_WORDS
from tests.bot_world import SLOW_S, bot_world, private_answer

LANGUAGE = "es"
CATALOG = Path(__file__).resolve().parents[2] / "locales" / LANGUAGE / "LC_MESSAGES" / "stembot.po"
BUTTONS = (REFRESH, "Confirm", "Cancel", "Previous", "Next", *STEM_WORDS)


@pytest.fixture(autouse=True)
def shipped_catalogs() -> None:
    i18n.translations.cache_clear()  # the real catalogs, whatever a test before loaded


def catalog() -> Catalog:
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE)


def translated(msgid: str) -> str:
    found = catalog().get(msgid)
    assert found is not None and isinstance(found.string, str), msgid
    return found.string


def command_words() -> list[str]:
    """Every description and choice name the command tree sends Discord, as msgids."""
    words = [str(Stems.__cog_group_description__)]
    for command in Stems.__cog_app_commands__:
        words.append(command.description)
        assert isinstance(command, app_commands.Command)  # no nested groups under /stems
        for parameter in command.parameters:
            words.append(parameter.description)
            words.extend(choice.name for choice in parameter.choices)
    return words


def test_every_entry_and_every_plural_form_is_translated_and_none_is_fuzzy() -> None:
    entries = [m for m in catalog() if m.id]
    for message in entries:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms) and not message.fuzzy, message.id
        if message.pluralizable:
            assert len(forms) == 3  # one, many (millones), other
    assert len(entries) > 150


def test_descriptions_and_choice_names_fit_100_characters_and_button_labels_80() -> None:
    shipped = {m.id: m.string for m in catalog() if m.id}
    words = [w for w in command_words() if w in shipped]  # language names are not translated

    assert len(words) > 30
    assert [w for w in words if not 1 <= len(str(shipped[w])) <= 100] == []
    assert [b for b in BUTTONS if not 1 <= len(str(shipped[b])) <= 80] == []


def test_sentences_stay_about_as_long_as_the_english() -> None:
    sentences = [m for m in catalog() if isinstance(m.id, str) and len(m.id) >= 40]

    assert [m.id for m in sentences if len(str(m.string)) > 1.4 * len(m.id)] == []


def test_a_button_named_in_a_sentence_reads_as_its_label() -> None:
    refresh = translated(REFRESH)
    manage = "Gestionar servidor"  # Discord's own Spanish name for Manage Server

    assert f"**{refresh}**" in translated("Links expire {when}; use **Refresh links** after that.")
    assert f"**{manage}**" in translated("You need the **Manage Server** permission for this.")
    assert manage in translated("Your own jobs, or the whole server's (needs Manage Server)")


def test_both_spanish_locales_read_the_catalog_with_plurals_and_placeholders_filled() -> None:
    with speaking(i18n.catalog_for("es-419")):
        assert _("Job `#{job}` was not found here.", job=7) == (
            "No se encontró el trabajo `#7` aquí."
        )
        assert i18n.ngettext("{n} paid job per person", "{n} paid jobs per person", 1) == (
            "1 trabajo pagado por persona"
        )
        assert i18n.ngettext("{n} paid job per person", "{n} paid jobs per person", 10**6) == (
            "1.000.000 trabajos pagados por persona"  # CLDR's "many" form, written the same
        )


async def test_the_synced_tree_carries_the_spanish_words_for_both_locales(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world") as world:
        (stems,) = world.standin.commands[world.guild.id]

        spanish = stems["description_localizations"]
        assert spanish["es-ES"] == spanish["es-419"] == "Separa canciones de Suno en stems"
        separate = next(o for o in stems["options"] if o["name"] == "separate")
        mode = next(o for o in separate["options"] if o["name"] == "mode")
        assert mode["choices"][1]["name_localizations"]["es-419"] == (
            "Separación completa (hasta 12 stems)"
        )
        assert world.standin.errors == []  # Discord's limits, as the stand-in enforces them


async def test_a_spanish_server_gets_a_twelve_stem_result_in_spanish_within_the_limits(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        world.alice.locale = "es-419"
        await world.set_rules(language="es", confirm_full_split=False)
        refused = await private_answer(await world.separate(world.alice, song="not a song id!"))
        asked = await world.separate(world.alice, song="demo-song-2", mode=Mode.INSTRUMENTAL)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        world.sandbox.finish(await world.remote_id(1))
        result = await world.result(lambda m: len(m.buttons) > 10)
        await world.settle()

        assert refused.content.startswith("Ese id de canción no parece correcto")
        assert status.embeds[0]["fields"][2]["name"] == "Estado"
        assert result.content == f"{world.alice.mention} los stems ya están listos."
        assert result.pinged_user_ids == {world.alice.id}
        labels = [str(b["label"]) for b in result.buttons]
        assert {"Voz", "Batería", "Bajo", "Renovar enlaces"} <= set(labels) and len(labels) == 13
        assert "**Renovar enlaces**" in result.embeds[0]["description"]
        assert world.standin.errors == []  # every message within Discord's limits
