"""issue 12: the shipped Spanish catalog (es-ES and es-419) is complete, within Discord's limits,
consistent in its terms, and what a Spanish-speaking member and server really read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import i18n
from bot.i18n import _, speaking
from bot.jobs import Mode
from tests.bot_world import SLOW_S, bot_world, private_answer
from tests.unit._translations import (
    check_discord_limits,
    check_every_entry_translated,
    check_labels_in_sentences,
    check_lengths,
)

LANGUAGE = "es"


@pytest.fixture(autouse=True)
def shipped_catalogs() -> None:
    i18n.translations.cache_clear()  # the real catalogs, whatever a test before loaded


def test_every_entry_and_every_plural_form_is_translated_and_none_is_fuzzy() -> None:
    check_every_entry_translated(LANGUAGE, plural_forms=3)  # one, many (millones), other


def test_descriptions_and_choice_names_fit_100_characters_and_button_labels_80() -> None:
    check_discord_limits(LANGUAGE)


def test_sentences_stay_about_as_long_as_the_english() -> None:
    check_lengths(LANGUAGE)


def test_a_button_named_in_a_sentence_reads_as_its_label() -> None:
    # Discord's own Spanish name for Manage Server
    check_labels_in_sentences(LANGUAGE, manage="Gestionar servidor")


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
