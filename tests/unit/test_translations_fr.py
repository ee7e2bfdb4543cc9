"""The French catalog as shipped: complete, and within Discord's limits where it is shown."""

from __future__ import annotations

import discord

from tests.unit.test_translations_de import (
    assert_about_as_long_as_english,
    assert_buttons_within_limits,
    assert_complete,
    assert_tree_within_limits,
    assert_twelve_stems_fit,
)

LANGUAGE, LOCALE = "fr", discord.Locale.french


def test_every_french_message_is_translated_in_every_plural_form() -> None:
    assert_complete(LANGUAGE)


async def test_french_descriptions_and_choice_names_are_localized_within_100_characters() -> None:
    await assert_tree_within_limits(LANGUAGE, LOCALE)


def test_french_button_labels_fit_80_characters() -> None:
    assert_buttons_within_limits(LANGUAGE, {"Instrumental", "Piano"})


def test_french_translations_stay_about_as_long_as_english() -> None:
    assert_about_as_long_as_english(LANGUAGE)


def test_a_french_twelve_stem_result_links_every_stem_within_discords_limits() -> None:
    assert_twelve_stems_fit(LANGUAGE)
