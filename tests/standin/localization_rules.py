"""Discord's limits on localized commands: valid locale keys, descriptions and choice names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import FormErrors

# The locales Discord accepts as localization keys (its "Locales" reference).
DISCORD_LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
})
LIMITS = {"name_localizations": 32, "description_localizations": 100}
CHOICE_LIMITS = {"name_localizations": 100}


def check_localizations(commands: Any) -> None:
    """Raise 400 50035 for localizations Discord would refuse in a bulk-overwrite body."""
    errors = FormErrors()
    if isinstance(commands, list):
        for path, node, limits in _localized(commands):
            for field, limit in limits.items():
                _check(node.get(field), f"{path}.{field}", limit, errors)
    errors.raise_if_any()


def _localized(commands: list[Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, int]]]:
    """Every command, option (nested) and choice, with its path and its limits."""
    for i, command in enumerate(commands):
        yield str(i), command, LIMITS
        yield from _options(command.get("options") or [], f"{i}.options")


def _options(options: list[Any], path: str) -> Iterator[tuple[str, dict[str, Any], dict[str, int]]]:
    for i, option in enumerate(options):
        at = f"{path}.{i}"
        yield at, option, LIMITS
        for j, choice in enumerate(option.get("choices") or []):
            yield f"{at}.choices.{j}", choice, CHOICE_LIMITS
        yield from _options(option.get("options") or [], f"{at}.options")


def _check(localized: Any, path: str, limit: int, errors: FormErrors) -> None:
    if localized is None:
        return
    if not isinstance(localized, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    for locale, text in localized.items():
        if locale not in DISCORD_LOCALES:
            errors.add(f"{path}.{locale}", "ENUM_TYPE_COERCE",
                       f"Value \"{locale}\" is not a valid enum value.")
        elif not isinstance(text, str) or not 1 <= len(text) <= limit:
            errors.add(f"{path}.{locale}", "BASE_TYPE_BAD_LENGTH",
                       f"Must be between 1 and {limit} in length.")
