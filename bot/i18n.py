"""The one translation layer: gettext catalogs (locales/), the reader's language, Babel formats."""

from __future__ import annotations

import contextlib
import gettext
import io
import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import timedelta
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "stembot"
SOURCE = "en"
# Every catalog under locales/ is shipped. Discord names most languages as the catalog does
# (with "-" for "_"); these are the exceptions (one catalog may serve several Discord locales).
DISCORD_NAMES = {"es": ("es-ES", "es-419"), "sv": ("sv-SE",), "zh_CN": ("zh-CN",)}
SHIPPED = tuple(sorted(
    path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
))
# Discord locale -> catalog.
DISCORD_LOCALES = {
    discord_name: language
    for language in SHIPPED
    for discord_name in DISCORD_NAMES.get(language, (language.replace("_", "-"),))
}


def _own_name(language: str) -> str:
    """The language named in itself ("Deutsch", "日本語"), as /stems config offers it."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


LANGUAGE_NAMES = {language: _own_name(language) for language in (SOURCE, *SHIPPED)}

_reader: ContextVar[str] = ContextVar("stembot_reader_language", default=SOURCE)


def catalog_for(discord_locale: object) -> str:
    """The catalog for a Discord locale ("pt-BR", or a discord.Locale), English if not shipped."""
    key = str(getattr(discord_locale, "value", discord_locale) or "")
    if key in DISCORD_LOCALES:
        return DISCORD_LOCALES[key]
    return key if key in SHIPPED else SOURCE


def current() -> str:
    return _reader.get()


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Everything rendered inside reads in `language` (a catalog name, see `catalog_for`)."""
    token = _reader.set(language if language in SHIPPED else SOURCE)
    try:
        yield
    finally:
        _reader.reset(token)


def set_reader(language: str) -> None:
    """For the rest of this task (one interaction): its replies read in `language`."""
    _reader.set(language if language in SHIPPED else SOURCE)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog compiled in memory from its .po (no .mo is kept). Empty and fuzzy entries are
    left out, so a missing translation falls back to English string by string."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for message in list(catalog)[1:]:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            catalog.delete(message.id, message.context)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(msgid: str, /, **values: object) -> str:
    """`msgid` in the reader's language, placeholders filled by name."""
    text = translations(current()).gettext(msgid)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The plural form the reader's language needs for `n` (`{n}` is filled, formatted)."""
    text = translations(current()).ngettext(singular, plural, n)
    return text.format(n=number(n), **values)


def N_(msgid: str, /) -> str:
    """Marks a constant for extraction; it is translated where it is shown (`_(CONSTANT)`)."""
    return msgid


def number(value: float) -> str:
    return format_decimal(value, locale=current())


def listed(items: Iterable[str], *, alternatives: bool = False) -> str:
    """A list as the language writes it ("a, b and c"; "a, b or c" for alternatives)."""
    words = list(items)
    if not words:
        return ""
    if alternatives:
        return format_list(words, style="or", locale=current())
    return format_list(words, locale=current())


def duration(seconds: float) -> str:
    """A duration in the reader's words ("2 minutes", "2 Minuten")."""
    return format_timedelta(
        timedelta(seconds=round(seconds)), locale=current(), threshold=1.5, format="long"
    )
