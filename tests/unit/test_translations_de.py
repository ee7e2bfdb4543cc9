"""The German catalog as shipped: complete, and within Discord's limits where it is shown.

The checks are written once here and reused by test_translations_fr.py and _ja.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from discord import app_commands
from discord.app_commands import TranslationContext, TranslationContextTypes
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import LANGUAGE_NAMES, _, speaking
from bot.jobs import Job, JobState, Mode, Stem, stem_label
from bot.tree import StemTranslator
from cogs.stems._cog import Stems
from cogs.stems._ui import CONTENT_MAX, DESCRIPTION_MAX, EMBED_TOTAL, result_embed, result_text
from cogs.stems._views import REFRESH
from cogs.stems._words import STEM_WORDS

LANGUAGE, LOCALE = "de", discord.Locale.german
ROOT = Path(__file__).resolve().parents[2]
TWELVE = ("vocals", "backing_vocals", "drums", "bass", "guitar", "keyboard", "piano", "strings",
          "brass", "woodwinds", "percussion", "synth")
DESCRIPTION_LIMIT, BUTTON_LIMIT = 100, 80


def shipped(language: str) -> Catalog:
    path = ROOT / "locales" / language / "LC_MESSAGES" / "stembot.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def translations(language: str) -> Iterator[tuple[str, str]]:
    """(English, translation) for every message and every plural form of `language`."""
    for message in shipped(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            yield str(sources[-1]), str(form)


def untranslated(language: str) -> list[object]:
    """Messages a member of `language` would read in English: empty, partly empty or fuzzy."""
    catalog = shipped(language)
    gaps: list[object] = []
    for message in catalog:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = catalog.num_plurals if message.pluralizable else 1
        if message.id and (message.fuzzy or len(forms) != wanted or not all(forms)):
            gaps.append(message.id)
    return gaps


def tree_strings() -> Iterator[tuple[str, TranslationContextTypes]]:
    """Every description and choice name the command tree sends to Discord, in English, with
    the context discord.py translates it in."""
    group = app_commands.Group(name="stems", description=str(Stems.__cog_group_description__))
    yield group.description, TranslationContext(Where.group_description, group)
    for command in Stems.__cog_app_commands__:
        assert isinstance(command, app_commands.Command)
        yield command.description, TranslationContext(Where.command_description, command)
        for parameter in command.parameters:
            yield parameter.description, TranslationContext(Where.parameter_description, parameter)
            for choice in parameter.choices:
                if choice.name not in LANGUAGE_NAMES.values():  # named in itself, never translated
                    yield choice.name, TranslationContext(Where.choice_name, choice)


async def localized_tree(locale: discord.Locale) -> dict[str, str | None]:
    """What sync sends for `locale`: the real translator over the real tree (None: English)."""
    translator = StemTranslator()
    return {
        text: await translator.translate(app_commands.locale_str(text), locale, context)
        for text, context in tree_strings()
    }


def button_labels(language: str) -> dict[str, str]:
    with speaking(language):
        return {label: _(label) for label in (REFRESH, "Confirm", "Cancel", "Previous", "Next",
                                              *STEM_WORDS)}


def twelve_stem_job() -> Job:
    finished = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    url = "https://cdn.example.com/stems/" + "a1b2c3d4" * 24 + "/{key}.mp3?sig=" + "f" * 40
    return Job(
        id=5, music_task_id="task-1", song_id="song-1", mode=Mode.INSTRUMENTAL,
        state=JobState.SUCCEEDED, guild_id=1, channel_id=2, requester_id=3,
        created_at=finished - timedelta(minutes=4), song_title="Ein Lied",
        submitted_at=finished - timedelta(minutes=3), finished_at=finished,
        stems=tuple(Stem(key, stem_label(key), url.format(key=key)) for key in TWELVE),
    )


def assert_complete(language: str) -> None:
    assert untranslated(language) == []


async def assert_tree_within_limits(language: str, locale: discord.Locale) -> None:
    sent = await localized_tree(locale)
    assert [text for text, local in sent.items() if local is None] == []  # all localized
    too_long = {text: local for text, local in sent.items()
                if len(local or "") > DESCRIPTION_LIMIT}
    assert too_long == {}, language


def assert_buttons_within_limits(language: str, spelled_as_in_english: set[str]) -> None:
    """Every label fits; the only ones left as in English are words the language shares."""
    labels = button_labels(language)
    assert all(0 < len(label) <= BUTTON_LIMIT for label in labels.values()), labels
    assert {english for english, local in labels.items() if local == english} == (
        spelled_as_in_english
    )


def assert_about_as_long_as_english(language: str) -> None:
    """Half again as long at most (the e2e 'longer language' test), a few letters' slack for
    one-word labels such as "Job" -> "Auftrag"."""
    long = [(source, form) for source, form in translations(language)
            if len(form) > 1.5 * len(source) + 12]
    assert long == []


def assert_twelve_stems_fit(language: str) -> None:
    job = twelve_stem_job()
    with speaking(language):
        embed = result_embed(job, expires_at=1_800_000_000.0, buttons=False)
        text = result_text(job, _("{members} your stems are ready.", members="<@3>"), None)
        names = [_(stem.label) for stem in job.stems]
    description = embed.description or ""
    assert len(description) <= DESCRIPTION_MAX and len(embed) <= EMBED_TOTAL
    assert all(f"**{name}**: [" in description or f"**{name}** : [" in description
               or f"**{name}**：[" in description for name in names), description
    assert len(text) <= CONTENT_MAX and "<@3>" in text


def test_every_german_message_is_translated_in_every_plural_form() -> None:
    assert_complete(LANGUAGE)


async def test_german_descriptions_and_choice_names_are_localized_within_100_characters() -> None:
    await assert_tree_within_limits(LANGUAGE, LOCALE)


def test_german_button_labels_fit_80_characters() -> None:
    shared = {"Bass", "Instrumental", "Keyboard", "Percussion", "Synth"}
    assert_buttons_within_limits(LANGUAGE, shared)


def test_german_translations_stay_about_as_long_as_english() -> None:
    assert_about_as_long_as_english(LANGUAGE)


def test_a_german_twelve_stem_result_links_every_stem_within_discords_limits() -> None:
    assert_twelve_stems_fit(LANGUAGE)
