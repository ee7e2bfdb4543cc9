"""Discord's limits on a message: content, embeds, components, flags, allowed_mentions."""

from __future__ import annotations

import re
from typing import Any

from .errors import DiscordError, FormErrors, empty_message
from .mentions import allowed_mentions_errors

# Discord refuses a link button whose url has spaces, non-ASCII or another scheme.
WELL_FORMED_URL = re.compile(r"(https?|discord)://[\x21-\x7e]+")
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
SUPPRESS_NOTIFICATIONS = 1 << 12
COMPONENTS_V2 = 1 << 15
CHANNEL_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS
INTERACTION_FLAGS = CHANNEL_FLAGS | EPHEMERAL

BUTTON = 2
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
LINK_STYLE = 5
PREMIUM_STYLE = 6


def check_message(body: dict[str, Any], *, allowed_flags: int) -> None:
    """Raise Discord's 400 answer if any field of a message create/edit body breaks a limit."""
    flags = body.get("flags") or 0
    if flags & COMPONENTS_V2:
        raise DiscordError(400, 0, "stand-in: Components V2 (flag 1<<15) are not implemented")
    errors = FormErrors()
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors.add("content", "BASE_TYPE_STRING", "Must be a string.")
    errors.max_length("content", content, 2000)
    if body.get("embeds") is not None:
        check_embeds(body["embeds"], errors)
    if body.get("components") is not None:
        check_components(body["components"], errors)
    if flags & ~allowed_flags:
        errors.add("flags", "MESSAGE_FLAGS_INVALID", f"Only flags {allowed_flags} may be set here.")
    if body.get("allowed_mentions") is not None:
        for problem in allowed_mentions_errors(body["allowed_mentions"]):
            errors.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_INVALID", problem)
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > 25:
        errors.max_length("nonce", nonce, 25)
    errors.raise_if_any()


def check_not_empty(
    content: str | None, embeds: list[Any], components: list[Any], attachments: list[Any]
) -> None:
    if not (content or embeds or components or attachments):
        raise empty_message()


def embed_text_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 per message."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    return size


def check_embeds(embeds: list[dict[str, Any]], errors: FormErrors) -> None:
    errors.max_items("embeds", embeds, 10)
    for i, embed in enumerate(embeds):
        path = f"embeds.{i}"
        errors.max_length(f"{path}.title", embed.get("title"), 256)
        errors.max_length(f"{path}.description", embed.get("description"), 4096)
        errors.max_length(f"{path}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        errors.max_length(f"{path}.author.name", (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        errors.max_items(f"{path}.fields", fields, 25)
        for j, f in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                if not f.get(key):
                    errors.add(f"{path}.fields.{j}.{key}", "BASE_TYPE_REQUIRED",
                               "This field is required")
                errors.max_length(f"{path}.fields.{j}.{key}", f.get(key), limit)
    if sum(embed_text_size(e) for e in embeds) > 6000:
        errors.add("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def check_components(rows: list[dict[str, Any]], errors: FormErrors) -> None:
    errors.max_items("components", rows, 5)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        path = f"components.{i}"
        if row.get("type") != 1:
            errors.add(f"{path}.type", "UNION_TYPE_CHOICES",
                       "Top-level components must be action rows (1).")
            continue
        children = row.get("components") or []
        errors.length_between(f"{path}.components", children, 1, 5)
        if len(children) > 1 and any(c.get("type") in SELECT_TYPES for c in children):
            errors.add(f"{path}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                       "The specified component exceeds the maximum width")
        for j, child in enumerate(children):
            check_child(child, f"{path}.components.{j}", errors, seen)


def check_child(child: dict[str, Any], path: str, errors: FormErrors, seen: set[str]) -> None:
    kind = child.get("type")
    if kind == BUTTON:
        check_button(child, path, errors)
    elif kind in SELECT_TYPES:
        check_select(child, path, errors)
    else:
        errors.add(f"{path}.type", "COMPONENT_TYPE_INVALID",
                   f"Component type {kind} is invalid here.")
        return
    custom_id = child.get("custom_id")
    if custom_id is not None:
        errors.length_between(f"{path}.custom_id", custom_id, 1, 100)
        if custom_id in seen:
            errors.add(f"{path}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED",
                       "Component custom id cannot be duplicated")
        seen.add(custom_id)


def check_button(button: dict[str, Any], path: str, errors: FormErrors) -> None:
    style = button.get("style")
    if style not in range(1, 7):
        errors.add(f"{path}.style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
    errors.max_length(f"{path}.label", button.get("label"), 80)
    if not button.get("label") and not button.get("emoji") and style != PREMIUM_STYLE:
        errors.add(f"{path}.label", "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
                   "A label or an emoji is required.")
    if style == LINK_STYLE:
        if not button.get("url"):
            errors.add(f"{path}.url", "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
        errors.max_length(f"{path}.url", button.get("url"), 512)
        if button.get("url") and not WELL_FORMED_URL.fullmatch(str(button["url"])):
            errors.add(f"{path}.url", "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        if button.get("custom_id") is not None:
            errors.add(f"{path}.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                       "A custom id cannot be specified for a link button")
    elif style != PREMIUM_STYLE:
        if button.get("custom_id") is None:
            errors.add(f"{path}.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                       "A custom id is required")
        if button.get("url") is not None:
            errors.add(f"{path}.url", "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                       "A url cannot be specified for a non-link button")


def check_select(select: dict[str, Any], path: str, errors: FormErrors) -> None:
    if select.get("custom_id") is None:
        errors.add(f"{path}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
    errors.max_length(f"{path}.placeholder", select.get("placeholder"), 150)
    if not 0 <= select.get("min_values", 1) <= 25:
        errors.add(f"{path}.min_values", "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
    if not 1 <= select.get("max_values", 1) <= 25:
        errors.add(f"{path}.max_values", "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
    if select.get("type") != 3:
        return
    options = select.get("options") or []
    errors.length_between(f"{path}.options", options, 1, 25)
    for k, option in enumerate(options):
        errors.length_between(f"{path}.options.{k}.label", option.get("label"), 1, 100)
        errors.length_between(f"{path}.options.{k}.value", option.get("value"), 1, 100)
        errors.max_length(f"{path}.options.{k}.description", option.get("description"), 100)
