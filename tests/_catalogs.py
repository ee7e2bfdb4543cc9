"""Stand-in translations for tests: every shipped catalog filled with a tagged copy of English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "locales" / "stembot.pot"

Translate = Callable[[str], "str | None"]


def tagged(language: str) -> Translate:
    """"[de] Split a Suno song…": recognisable, placeholders kept, within Discord's 100
    characters where the English has no placeholder (descriptions, choice names)."""

    def translate(source: str) -> str:
        text = f"[{language}] {source}"
        return text if "{" in source else text[:100]

    return translate


def write_catalog(directory: Path, language: str, translate: Translate) -> None:
    """locales/<language>/LC_MESSAGES/stembot.po under `directory`, from the template."""
    with TEMPLATE.open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=language)
    for message in template:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        found = translate(source) or ""
        if message.pluralizable:
            plural = translate(str(message.id[1])) or "" if found else ""
            forms = [found, *[plural] * (catalog.num_plurals - 1)][: catalog.num_plurals]
            catalog.add(message.id, tuple(forms))
        else:
            catalog.add(message.id, found)
    path = directory / language / "LC_MESSAGES" / "stembot.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)
