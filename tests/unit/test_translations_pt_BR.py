"""issue 12: the shipped Brazilian Portuguese catalog is complete, within Discord's limits,
consistent in its terms, and what a Brazilian member and server really read."""

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

LANGUAGE = "pt_BR"


@pytest.fixture(autouse=True)
def shipped_catalogs() -> None:
    i18n.translations.cache_clear()  # the real catalogs, whatever a test before loaded


def test_every_entry_and_every_plural_form_is_translated_and_none_is_fuzzy() -> None:
    check_every_entry_translated(LANGUAGE, plural_forms=3)  # one (0 and 1), many (milhões), other


def test_descriptions_and_choice_names_fit_100_characters_and_button_labels_80() -> None:
    check_discord_limits(LANGUAGE)


def test_sentences_stay_about_as_long_as_the_english() -> None:
    check_lengths(LANGUAGE)


def test_a_button_named_in_a_sentence_reads_as_its_label() -> None:
    # Discord's own Portuguese name for Manage Server
    check_labels_in_sentences(LANGUAGE, manage="Gerenciar servidor")


def test_a_pt_br_member_reads_the_catalog_with_plurals_and_placeholders_filled() -> None:
    with speaking(i18n.catalog_for("pt-BR")):
        assert _("Job `#{job}` was not found here.", job=7) == (
            "O pedido `#7` não foi encontrado aqui."
        )
        assert i18n.ngettext("{n} paid job per person", "{n} paid jobs per person", 1) == (
            "1 pedido pago por pessoa"
        )
        assert i18n.ngettext("{n} paid job per person", "{n} paid jobs per person", 2) == (
            "2 pedidos pagos por pessoa"
        )


async def test_the_synced_tree_carries_the_portuguese_words(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world") as world:
        (stems,) = world.standin.commands[world.guild.id]

        assert stems["description_localizations"]["pt-BR"] == "Separa músicas do Suno em stems"
        separate = next(o for o in stems["options"] if o["name"] == "separate")
        mode = next(o for o in separate["options"] if o["name"] == "mode")
        assert mode["choices"][1]["name_localizations"]["pt-BR"] == (
            "Separação completa (até 12 stems)"
        )
        assert world.standin.errors == []  # Discord's limits, as the stand-in enforces them


async def test_a_brazilian_server_gets_a_twelve_stem_result_in_portuguese_within_the_limits(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world", duration_s=SLOW_S) as world:
        world.alice.locale = "pt-BR"
        await world.set_rules(language="pt_BR", confirm_full_split=False)
        refused = await private_answer(await world.separate(world.alice, song="not a song id!"))
        asked = await world.separate(world.alice, song="demo-song-2", mode=Mode.INSTRUMENTAL)
        status = await asked.wait_reply(lambda m: bool(m.embeds))
        world.sandbox.finish(await world.remote_id(1))
        result = await world.result(lambda m: len(m.buttons) > 10)
        await world.settle()

        assert refused.content.startswith("Esse id de música não parece certo")
        assert status.embeds[0]["fields"][2]["name"] == "Status"
        assert result.content == f"{world.alice.mention} seus stems estão prontos."
        assert result.pinged_user_ids == {world.alice.id}
        labels = [str(b["label"]) for b in result.buttons]
        assert {"Voz", "Bateria", "Baixo", "Atualizar links"} <= set(labels) and len(labels) == 13
        assert "**Atualizar links**" in result.embeds[0]["description"]
        assert world.standin.errors == []  # every message within Discord's limits
