"""Discord's limits on application commands, autocomplete results and modals."""

from __future__ import annotations

import re
from typing import Any

from .errors import FormErrors

# Discord's pattern is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; \w is close enough here.
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
CHAT_INPUT = 1


def check_commands(commands: Any) -> None:
    """Raise 400 50035 for a bulk-overwrite body Discord would refuse."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add("", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errors.raise_if_any()
        return
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        key = (command.get("type", CHAT_INPUT), command.get("name", ""))
        if key in seen:
            errors.add(f"{i}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                       "Application command names must be unique")
        seen.add(key)
        check_command(command, str(i), errors)
    if sum(1 for c in commands if c.get("type", CHAT_INPUT) == CHAT_INPUT) > 100:
        errors.add("", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer chat input commands.")
    errors.raise_if_any()


def _check_name(name: Any, path: str, errors: FormErrors) -> None:
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        errors.add(f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME",
                   "Command name is invalid: 1-32 lowercase letters, digits, - or _")


def check_command(command: dict[str, Any], path: str, errors: FormErrors) -> None:
    if command.get("type", CHAT_INPUT) != CHAT_INPUT:
        errors.length_between(f"{path}.name", command.get("name"), 1, 32)
        return
    _check_name(command.get("name"), path, errors)
    errors.length_between(f"{path}.description", command.get("description"), 1, 100)
    check_options(command.get("options") or [], f"{path}.options", errors, depth=0)


def check_options(options: list[dict[str, Any]], path: str, errors: FormErrors, depth: int) -> None:
    errors.max_items(path, options, 25)
    kinds = {o.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP) for o in options}
    if len(kinds) > 1:
        errors.add(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                   "Sub-commands and sub-command groups cannot be mixed with other options")
    names: set[str] = set()
    optional_seen = False
    for i, option in enumerate(options):
        at = f"{path}.{i}"
        _check_name(option.get("name"), at, errors)
        if option.get("name") in names:
            errors.add(f"{at}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                       "Option names must be unique")
        names.add(option.get("name", ""))
        errors.length_between(f"{at}.description", option.get("description"), 1, 100)
        if option.get("required"):
            if optional_seen:
                errors.add(at, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                           "Required options must be placed before non-required options")
        else:
            optional_seen = True
        _check_option_kind(option, at, errors, depth)


def _check_option_kind(option: dict[str, Any], at: str, errors: FormErrors, depth: int) -> None:
    kind = option.get("type")
    if kind == SUBCOMMAND_GROUP:
        if depth > 0:
            errors.add(f"{at}.type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                       "Sub-command groups can only be nested in a command")
        subs = option.get("options") or []
        if any(o.get("type") != SUBCOMMAND for o in subs):
            errors.add(f"{at}.options", "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                       "Sub-command groups may only contain sub-commands")
        check_options(subs, f"{at}.options", errors, depth + 1)
    elif kind == SUBCOMMAND:
        if depth > 1:
            errors.add(f"{at}.type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                       "Sub-commands cannot be nested this deep")
        check_options(option.get("options") or [], f"{at}.options", errors, depth=2)
    elif kind not in range(3, 12):
        errors.add(f"{at}.type", "BASE_TYPE_CHOICES", "Value must be one of 1..11.")
    check_choices(option.get("choices"), f"{at}.choices", errors)
    if option.get("choices") and option.get("autocomplete"):
        errors.add(f"{at}.autocomplete", "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                   "Autocomplete cannot be set with choices")


def check_choices(choices: Any, path: str, errors: FormErrors) -> None:
    """Choices of an option or of an autocomplete result: ≤ 25, names 1-100, values ≤ 100."""
    if choices is None:
        return
    errors.max_items(path, choices, 25)
    for i, choice in enumerate(choices):
        errors.length_between(f"{path}.{i}.name", choice.get("name"), 1, 100)
        value = choice.get("value")
        if isinstance(value, str):
            errors.max_length(f"{path}.{i}.value", value, 100)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors.add(f"{path}.{i}.value", "BASE_TYPE_REQUIRED", "This field is required")


def check_autocomplete_result(data: dict[str, Any] | None) -> None:
    errors = FormErrors()
    choices = (data or {}).get("choices")
    if choices is None:
        errors.add("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
    check_choices(choices, "data.choices", errors)
    errors.raise_if_any()


def modal_inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text inputs of a modal, whether wrapped in action rows (1) or labels (18)."""
    found: list[dict[str, Any]] = []
    for component in components:
        if component.get("type") == 1:
            found += component.get("components") or []
        elif component.get("type") == 18:
            found.append(component.get("component") or {})
    return found


def check_modal(data: dict[str, Any] | None) -> None:
    errors = FormErrors()
    modal = data or {}
    errors.length_between("data.title", modal.get("title"), 1, 45)
    errors.length_between("data.custom_id", modal.get("custom_id"), 1, 100)
    components = modal.get("components") or []
    errors.length_between("data.components", components, 1, 5)
    for i, text_input in enumerate(modal_inputs(components)):
        path = f"data.components.{i}"
        errors.length_between(f"{path}.custom_id", text_input.get("custom_id"), 1, 100)
        errors.max_length(f"{path}.label", text_input.get("label"), 45)
        errors.max_length(f"{path}.placeholder", text_input.get("placeholder"), 100)
        errors.max_length(f"{path}.value", text_input.get("value"), 4000)
        if not 1 <= text_input.get("max_length", 4000) <= 4000:
            errors.add(f"{path}.max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 4000.")
    errors.raise_if_any()
