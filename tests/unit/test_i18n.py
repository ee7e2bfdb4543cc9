"""The translation layer: catalogs complete and current, per-string English fallback, locales."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n import SHIPPED, _, catalog_for, ngettext, speaking
from tests._catalogs import write_catalog

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def template() -> Catalog:
    return read(ROOT / "locales" / "stembot.pot")


def shipped(language: str) -> Catalog:
    return read(ROOT / "locales" / language / "LC_MESSAGES" / "stembot.po", language)


def ids(catalog: Catalog) -> set[object]:
    return {m.id for m in catalog if m.id}


@pytest.mark.parametrize("language", SHIPPED)
def test_every_msgid_is_in_every_shipped_catalog_and_none_is_fuzzy(language: str) -> None:
    catalog = shipped(language)

    assert ids(catalog) == ids(template())
    assert not [m.id for m in catalog if m.id and m.fuzzy]


@pytest.mark.parametrize("language", SHIPPED)
def test_a_translation_keeps_the_placeholders_and_every_plural_form(language: str) -> None:
    catalog = shipped(language)
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(str(sources[-1])))
        if message.pluralizable:
            assert len(forms) == catalog.num_plurals, message.id
        for form in forms:
            if form:  # empty: not translated yet (round 2), English is shown
                assert set(PLACEHOLDER.findall(str(form))) == wanted, (language, message.id)


def test_make_messages_leaves_a_current_tree_unchanged(tmp_path: Path) -> None:
    for name in ("bot", "cogs", "locales"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for name in ("Makefile", "babel.cfg"):
        shutil.copy(ROOT / name, tmp_path / name)
    before = {p: p.read_bytes() for p in (tmp_path / "locales").rglob("*.po*")}

    subprocess.run(
        ["make", "-s", "messages", f"BIN={Path(sys.executable).parent}", "STAMP="],
        cwd=tmp_path, check=True, capture_output=True,
    )

    after = {p: p.read_bytes() for p in (tmp_path / "locales").rglob("*.po*")}
    assert after == before, "run `make messages` and commit locales/"


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Write a catalog for a language from the template, translating what `translate` returns."""
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield lambda language, translate: write_catalog(tmp_path, language, translate)
    i18n.translations.cache_clear()


def test_a_language_that_is_not_shipped_reads_english() -> None:
    assert catalog_for("ko") == "en"
    with speaking(catalog_for("ko")):
        assert _("No jobs yet.") == "No jobs yet."


def test_both_spanish_locales_read_the_one_spanish_catalog() -> None:
    assert catalog_for("es-ES") == catalog_for("es-419") == "es"
    assert catalog_for("pt-BR") == "pt_BR"


def test_a_string_missing_from_a_catalog_falls_back_to_english_not_to_a_key(
    catalogs: Callable[..., None],
) -> None:
    catalogs("de", lambda source: "Noch keine Jobs." if source == "No jobs yet." else None)

    with speaking("de"):
        assert _("No jobs yet.") == "Noch keine Jobs."
        assert _("Job `#{job}` ({title}) has already ended.", job=3, title="Song") == (
            "Job `#3` (Song) has already ended."
        )


def test_plurals_use_the_languages_own_rule(catalogs: Callable[..., None]) -> None:
    catalogs("fr", lambda source: "réessayez dans {n} seconde(s)"
             if source.startswith("try again in {n} second") else None)

    with speaking("fr"):
        assert ngettext("try again in {n} second", "try again in {n} seconds", 1) == (
            "réessayez dans 1 seconde(s)"
        )
    assert ngettext("try again in {n} second", "try again in {n} seconds", 2) == (
        "try again in 2 seconds"
    )


def test_numbers_and_lists_are_written_the_readers_way() -> None:
    with speaking("de"):
        assert i18n.number(1234.5) == "1.234,5"
        assert i18n.listed(["a", "b", "c"]) == "a, b und c"
    assert i18n.listed(["a", "b"], alternatives=True) == "a or b"
