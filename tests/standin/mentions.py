"""Who a message pings: Discord's rules for content mentions filtered by allowed_mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(everyone|here)")
PARSE_TYPES = frozenset({"users", "roles", "everyone"})


@dataclass(frozen=True)
class Mentions:
    users: set[int]
    roles: set[int]
    everyone: bool


def compute_mentions(content: str, allowed: dict[str, Any] | None) -> Mentions:
    """Pings of a message: only mentions written in the content, and only those allowed.

    Without allowed_mentions Discord parses everything. With it, a mention type pings only when
    named in `parse`, or (users/roles) when its id is listed explicitly. Mentions inside embeds
    never ping.
    """
    users = {int(x) for x in USER_MENTION.findall(content)}
    roles = {int(x) for x in ROLE_MENTION.findall(content)}
    everyone = EVERYONE_MENTION.search(content) is not None
    if allowed is None:
        return Mentions(users, roles, everyone)
    parse = set(allowed.get("parse", []))
    if "users" not in parse:
        users &= {int(x) for x in allowed.get("users", [])}
    if "roles" not in parse:
        roles &= {int(x) for x in allowed.get("roles", [])}
    return Mentions(users, roles, everyone and "everyone" in parse)


def allowed_mentions_errors(allowed: Any) -> list[str]:
    """Discord's checks of an allowed_mentions object; each problem as a sentence."""
    if not isinstance(allowed, dict):
        return ["allowed_mentions must be an object."]
    problems: list[str] = []
    parse = allowed.get("parse", [])
    unknown = set(parse) - PARSE_TYPES
    if unknown:
        problems.append(f"parse contains unknown values {sorted(unknown)}.")
    for kind in ("users", "roles"):
        listed = allowed.get(kind)
        if listed is None:
            continue
        if kind in parse:
            problems.append(f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.')
        if len(listed) > 100:
            problems.append(f"{kind} must have 100 or fewer ids.")
    return problems
