"""REST routes for application commands: bulk overwrite (sync) and fetch, global and per guild."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .command_rules import check_commands
from .errors import unknown
from .localization_rules import check_localizations
from .rest_core import API, json_response, read_json
from .world import World


class CommandRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def table(self) -> list[web.RouteDef]:
        base = f"{API}/applications/{{app_id}}"
        return [
            web.get(f"{base}/commands", self.fetch),
            web.put(f"{base}/commands", self.overwrite),
            web.get(f"{base}/guilds/{{guild_id}}/commands", self.fetch),
            web.put(f"{base}/guilds/{{guild_id}}/commands", self.overwrite),
        ]

    def _scope(self, request: web.Request) -> int | None:
        if request.match_info["app_id"] != str(self.world.application_id):
            raise unknown("Application")
        guild_id = request.match_info.get("guild_id")
        return None if guild_id is None else self.world.guild(guild_id).id

    async def fetch(self, request: web.Request) -> web.Response:
        return json_response(self.world.commands.get(self._scope(request), []))

    async def overwrite(self, request: web.Request) -> web.Response:
        """PUT replaces the whole set; a command keeps its id when its name and type stay."""
        scope = self._scope(request)
        body = await read_json(request)
        check_commands(body)
        check_localizations(body)
        old = {(c["type"], c["name"]): c["id"] for c in self.world.commands.get(scope, [])}
        stored = [self._store(command, scope, old) for command in body]
        self.world.commands[scope] = stored
        self.world.sync_calls[scope] += 1
        self.world.changed()
        return json_response(stored)

    def _store(
        self, command: dict[str, Any], scope: int | None, old: dict[tuple[int, str], str]
    ) -> dict[str, Any]:
        kind = command.get("type", 1)
        stored = {
            **command,
            "id": old.get((kind, command["name"])) or str(self.world.ids.next()),
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
            "type": kind,
            "default_member_permissions": command.get("default_member_permissions"),
            "nsfw": command.get("nsfw", False),
            "options": command.get("options", []),
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored
