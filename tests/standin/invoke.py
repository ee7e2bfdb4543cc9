"""INTERACTION_CREATE payloads, built as Discord does from a synced command and typed options."""

from __future__ import annotations

from typing import Any

from .errors import StandinError
from .messages import ATTACHMENT_SIZE_LIMIT
from .model import ADMINISTRATOR, Channel, Guild, Role, User
from .payloads import member_payload, role_payload, user_payload
from .world import World

SUBCOMMAND_TYPES = (1, 2)
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


def find_command(world: World, guild: Guild | None, name: str) -> dict[str, Any]:
    """The synced command a user would see under `name`: guild commands first, then global."""
    scopes: list[int | None] = [guild.id, None] if guild else [None]
    for scope in scopes:
        for command in world.commands.get(scope, []):
            if command["name"] == name and command["type"] == 1:
                return command
    where = f"guild {guild.id}" if guild else "DMs"
    raise StandinError(f"/{name} is not synced to {where} or globally; sync the command tree first")


def check_visible(world: World, command: dict[str, Any], guild: Guild | None, user: User) -> None:
    """Discord's client hides commands whose default_member_permissions the user lacks."""
    contexts = command.get("contexts")
    context = 0 if guild else 1
    if contexts is not None and context not in contexts:
        raise StandinError(f"/{command['name']} is not available in this context ({context})")
    required = command.get("default_member_permissions")
    if guild is None or required is None:
        return
    granted = world.member_permissions(guild, user.id)
    needed = int(required)
    if not granted & ADMINISTRATOR and (needed == 0 or granted & needed != needed):
        raise StandinError(f"{user.name} cannot see /{command['name']}: missing permissions")


def command_data(
    world: World, guild: Guild | None, command: str, values: dict[str, Any], focused: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, the root command) for `command` like "stems separate" with option `values`."""
    tokens = command.split()
    root = find_command(world, guild, tokens[0])
    path: list[dict[str, Any]] = []
    schema = root.get("options") or []
    for token in tokens[1:]:
        subs = [o for o in schema if o["type"] in SUBCOMMAND_TYPES]
        match = next((o for o in subs if o["name"] == token), None)
        if match is None:
            raise StandinError(f"/{command}: {token!r} is not a subcommand here")
        path.append(match)
        schema = match.get("options") or []
    if any(o["type"] in SUBCOMMAND_TYPES for o in schema):
        raise StandinError(f"/{command} needs a subcommand: Discord cannot invoke a group")
    resolved: dict[str, dict[str, Any]] = {}
    options = _leaf_options(world, guild, schema, values, focused, resolved, command)
    for sub in reversed(path):
        options = [{"name": sub["name"], "type": sub["type"], "options": options}]
    data: dict[str, Any] = {"id": root["id"], "name": root["name"], "type": 1, "options": options}
    if "guild_id" in root:
        data["guild_id"] = root["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data, root


def _leaf_options(
    world: World, guild: Guild | None, schema: list[dict[str, Any]], values: dict[str, Any],
    focused: str | None, resolved: dict[str, dict[str, Any]], command: str,
) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in schema}
    typed = set(values) | ({focused} if focused else set())
    unknown = typed - set(by_name)
    if unknown:
        raise StandinError(f"/{command} has no option(s) {sorted(unknown)}")
    options = []
    for option in schema:
        name = option["name"]
        if name == focused:
            value = values.get(name, "")
            options.append(
                {"name": name, "type": option["type"], "value": str(value), "focused": True}
            )
        elif name in values:
            value = _wire_value(world, guild, option, values[name], resolved, command)
            options.append({"name": name, "type": option["type"], "value": value})
        elif option.get("required") and focused is None:
            raise StandinError(f"/{command}: required option {name!r} is missing")
    return options


def _wire_value(
    world: World, guild: Guild | None, option: dict[str, Any], value: Any,
    resolved: dict[str, dict[str, Any]], command: str,
) -> Any:
    kind, name = option["type"], option["name"]
    expected: dict[int, type | tuple[type, ...]] = {
        STRING: str, INTEGER: int, BOOLEAN: bool, NUMBER: (int, float), USER: User,
        CHANNEL: Channel, ROLE: Role, MENTIONABLE: (User, Role),
    }
    if kind not in expected:
        raise StandinError(f"/{command}: option type {kind} is not implemented by the stand-in")
    if not isinstance(value, expected[kind]) or (kind == INTEGER and isinstance(value, bool)):
        raise StandinError(f"/{command}: option {name!r} wants type {kind}, got {value!r}")
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise StandinError(f"/{command}: {value!r} is not one of the choices of {name!r}")
    if isinstance(value, User | Channel | Role):
        _resolve(world, guild, value, resolved)
        return str(value.id)
    return value


def _resolve(
    world: World, guild: Guild | None, value: User | Channel | Role,
    resolved: dict[str, dict[str, Any]],
) -> None:
    key = str(value.id)
    if isinstance(value, User):
        resolved.setdefault("users", {})[key] = user_payload(value)
        member = guild.members.get(value.id) if guild else None
        if member is not None and guild is not None:
            payload = member_payload(member, permissions=world.member_permissions(guild, value.id))
            del payload["user"]
            resolved.setdefault("members", {})[key] = payload
    elif isinstance(value, Role):
        resolved.setdefault("roles", {})[key] = role_payload(value)
    else:
        channel = world.channel_payload(value)
        everyone = world.guilds[value.guild_id].everyone_role if value.guild_id else None
        channel["permissions"] = str(everyone.permissions if everyone else 0)
        resolved.setdefault("channels", {})[key] = channel


def interaction_payload(
    world: World, *, kind: int, interaction_id: int, token: str, guild: Guild | None,
    channel: Channel, user: User, data: dict[str, Any],
) -> dict[str, Any]:
    """Everything discord.py reads from an INTERACTION_CREATE (minus `message` for components)."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": kind,
        "token": token,
        "version": 1,
        "data": data,
        "channel_id": str(channel.id),
        "channel": world.channel_payload(channel),
        "locale": user.locale,
        "app_permissions": str(world.bot_permissions(channel)),
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id) if guild else "0"},
        "context": 0 if guild else 1,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if guild is None:
        payload["user"] = user_payload(user)
        return payload
    member = guild.members.get(user.id)
    if member is None:
        raise StandinError(f"{user.name} is not a member of {guild.name}")
    permissions = world.member_permissions(guild, user.id)
    payload["channel"]["permissions"] = str(permissions)
    payload.update({
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
        "guild_locale": guild.locale,
        "member": member_payload(member, permissions=permissions),
    })
    return payload
