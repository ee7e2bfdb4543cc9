"""The checks the Spanish and Portuguese catalog tests share: complete, within Discord's limits,
about as long as the English, and a button or permission named in a sentence as its label."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from discord import app_commands

from cogs.stems._cog import Stems
from cogs.stems._views import REFRESH
from cogs.stems._words import STEM_WORDS

LOCALES = Path(__file__).resolve().parents[2] / "locales"
BUTTONS = (REFRESH, "Confirm", "Cancel", "Previous", "Next", *STEM_WORDS)


def catalog(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / "stembot.po").open("rb") as handle:
        return read_po(handle, locale=language)


def translated(language: str, msgid: str) -> str:
    found = catalog(language).get(msgid)
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


def check_every_entry_translated(language: str, plural_forms: int) -> None:
    entries = [m for m in catalog(language) if m.id]
    for message in entries:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms) and not message.fuzzy, message.id
        if message.pluralizable:
            assert len(forms) == plural_forms
    assert len(entries) > 150


def check_discord_limits(language: str) -> None:
    shipped = {m.id: m.string for m in catalog(language) if m.id}
    words = [w for w in command_words() if w in shipped]  # language names are not translated

    assert len(words) > 30
    assert [w for w in words if not 1 <= len(str(shipped[w])) <= 100] == []
    assert [b for b in BUTTONS if not 1 <= len(str(shipped[b])) <= 80] == []


def check_lengths(language: str) -> None:
    sentences = [m for m in catalog(language) if isinstance(m.id, str) and len(m.id) >= 40]

    assert [m.id for m in sentences if len(str(m.string)) > 1.4 * len(m.id)] == []


def check_labels_in_sentences(language: str, manage: str) -> None:
    """`manage`: Discord's own name, in this language, for the Manage Server permission."""
    refresh = translated(language, REFRESH)
    assert f"**{refresh}**" in translated(
        language, "Links expire {when}; use **Refresh links** after that.")
    assert f"**{manage}**" in translated(
        language, "You need the **Manage Server** permission for this.")
    assert manage in translated(
        language, "Your own jobs, or the whole server's (needs Manage Server)")
