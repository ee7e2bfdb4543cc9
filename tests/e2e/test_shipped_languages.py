"""The real catalogs at sync: every description and choice name of the tree in every shipped
language, within Discord's limits, accepted by the stand-in (no test catalogs here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.bot_world import bot_world

SHIPPED_KEYS = {"es-ES", "es-419", "pt-BR", "de", "fr", "ja"}
# Each language is named in itself in /stems config language: those choices stay as they are.
OWN_NAMES = "/stems/config/language:"


def localized_parts(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(where, English, localizations) for every description and choice name below `node`."""
    where = f"{path}/{node['name']}"
    if node.get("description"):
        yield where, node["description"], node.get("description_localizations")
    for choice in node.get("choices") or ():
        yield f"{where}:{choice['value']}", choice["name"], choice.get("name_localizations")
    for option in node.get("options") or ():
        yield from localized_parts(option, where)


async def test_the_synced_tree_reads_in_every_shipped_language_from_the_real_catalogs(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path / "world") as world:
        (stems,) = world.standin.commands[world.guild.id]
        parts = [p for p in localized_parts(stems) if not p[0].startswith(OWN_NAMES)]

        missing = [where for where, _, loc in parts if set(loc or {}) != SHIPPED_KEYS]
        too_long = [(where, key) for where, _, loc in parts for key, text in (loc or {}).items()
                    if not 1 <= len(text) <= 100]
        # Japanese shares no word with the English source: an equal text is an untranslated one.
        untranslated = [where for where, english, loc in parts if (loc or {}).get("ja") == english]

        assert len(parts) > 20
        assert missing == [] and too_long == [] and untranslated == []
        assert not stems.get("name_localizations")  # command and option names stay English
        assert world.standin.errors == []  # accepted by the stand-in's limits
