"""REST plumbing (auth, request log, injected 429s, Discord-shaped errors) and core routes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import DiscordError, unauthorized, unknown
from .messages import Upload
from .payloads import guild_payload, member_payload, role_payload, user_payload
from .world import World

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json() if request.can_read_body else {}
    except json.JSONDecodeError:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """A JSON object body, or payload_json plus the files of a multipart body."""
    uploads: list[Upload] = []
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        try:
            body = json.loads(str(form.get("payload_json", "{}")))
        except json.JSONDecodeError:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        files = [v for v in form.values() if isinstance(v, web.FileField)]
        uploads = [
            Upload(i, f.filename, f.file.read(), f.content_type) for i, f in enumerate(files)
        ]
    else:
        body = await read_json(request)
    if not isinstance(body, dict):
        raise DiscordError(400, 50109, "The request body contains invalid JSON.")
    return body, uploads


@dataclass
class PendingLimit:
    """429s to answer to the next `count` calls whose "METHOD /path" contains the substring."""

    route_substring: str
    retry_after_s: float
    count: int


@dataclass
class PendingRefusal:
    """An error to answer to the next `count` calls whose "METHOD /path" contains the substring."""

    route_substring: str
    error: DiscordError
    count: int
    after: int = 0  # matching calls to let through first


class Plumbing:
    """The middleware every REST call goes through, and the 404 for routes nobody implemented."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pending_429s: list[PendingLimit] = []
        self.pending_refusals: list[PendingRefusal] = []

    def rate_limit_next(self, route_substring: str, retry_after_s: float, count: int) -> None:
        self.pending_429s.append(PendingLimit(route_substring, retry_after_s, count))

    def refuse_next(
        self, route_substring: str, error: DiscordError, count: int, after: int = 0
    ) -> None:
        self.pending_refusals.append(PendingRefusal(route_substring, error, count, after))

    async def _note_refused_message(self, request: web.Request, path: str) -> None:
        """A refused message create is still kept in message_bodies (what was tried, in order)."""
        parts = path.split("/")  # "", "channels", id, "messages"
        is_create = len(parts) == 4 and parts[1:4:2] == ["channels", "messages"]
        if request.method == "POST" and is_create:
            body, _ = await read_body(request)
            self.world.message_bodies.append((int(parts[2]), body))

    def _take_refusal(self, route: str) -> DiscordError | None:
        for pending in self.pending_refusals:
            if pending.route_substring in route:
                if pending.after > 0:
                    pending.after -= 1
                    return None
                pending.count -= 1
                if pending.count <= 0:
                    self.pending_refusals.remove(pending)
                return pending.error
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        path = request.path.removeprefix(API)
        self.world.requests.append((request.method, path))
        limited = self._take_429(f"{request.method} {path}")
        if limited is not None:
            self.world.rate_limits.append((request.method, path))
            return rate_limited(limited)
        try:
            refusal = self._take_refusal(f"{request.method} {path}")
            if refusal is not None:
                await self._note_refused_message(request, path)
                raise refusal
            if not path.startswith(("/interactions/", "/webhooks/")):
                if request.headers.get("Authorization") != f"Bot {self.world.token}":
                    raise unauthorized()
            return await handler(request)
        except DiscordError as error:
            self.world.refuse(request.method, path, error.status, error.code, error.reason())
            log.warning("stand-in refused %s %s: %s", request.method, path, error.reason())
            return json_response(error.body(), error.status)

    def _take_429(self, route: str) -> float | None:
        for pending in self.pending_429s:
            if pending.route_substring in route:
                pending.count -= 1
                if pending.count <= 0:
                    self.pending_429s.remove(pending)
                return pending.retry_after_s
        return None

    async def unknown_route(self, request: web.Request) -> web.Response:
        log.error("stand-in: no route for %s %s", request.method, request.path)
        raise DiscordError(404, 0, f"404: Not Found (stand-in has no route {request.method} "
                                   f"{request.path.removeprefix(API)})")


def rate_limited(retry_after_s: float) -> web.Response:
    """A 429 discord.py accepts as a rate limit: it needs the Via header and a JSON body."""
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, round(retry_after_s))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after_s:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after_s:.3f}",
        "X-RateLimit-Bucket": "standin-bucket",
        "X-RateLimit-Scope": "user",
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after_s, "global": False}
    return json_response(body, 429, headers)


class CoreRoutes:
    """Login, users, DMs, guilds and the gateway URL."""

    def __init__(self, world: World, gateway_url: Callable[[], str]) -> None:
        self.world = world
        self.gateway_url = gateway_url

    def table(self) -> list[web.RouteDef]:
        return [
            web.get(f"{API}/users/@me", self.me),
            web.post(f"{API}/users/@me/channels", self.open_dm),
            web.get(f"{API}/users/{{user_id}}", self.get_user),
            web.get(f"{API}/oauth2/applications/@me", self.application),
            web.get(f"{API}/applications/@me", self.application),
            web.get(f"{API}/gateway", self.gateway),
            web.get(f"{API}/gateway/bot", self.gateway),
            web.get(f"{API}/guilds/{{guild_id}}", self.get_guild),
            web.get(f"{API}/guilds/{{guild_id}}/channels", self.guild_channels),
            web.get(f"{API}/guilds/{{guild_id}}/roles", self.guild_roles),
            web.get(f"{API}/guilds/{{guild_id}}/members/{{user_id}}", self.get_member),
        ]

    async def me(self, request: web.Request) -> web.Response:
        me = user_payload(self.world.bot_user)
        return json_response({**me, "verified": True, "mfa_enabled": False, "email": None})

    async def get_user(self, request: web.Request) -> web.Response:
        return json_response(user_payload(self.world.user(request.match_info["user_id"])))

    async def open_dm(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        user = self.world.user(str(body.get("recipient_id", "")))
        return json_response(self.world.channel_payload(self.world.dm_channel(user)))

    async def application(self, request: web.Request) -> web.Response:
        world = self.world
        return json_response({
            "id": str(world.application_id),
            "name": world.bot_user.name,
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": user_payload(world.app_owner),
            "verify_key": "0" * 64,
            "flags": world.application_flags(),
            "team": None,
            "bot": user_payload(world.bot_user),
        })

    async def gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.gateway_url(), "shards": self.world.recommended_shards,
                              "session_start_limit": limit})

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.world.guild(request.match_info["guild_id"])
        return json_response(guild_payload(guild, bot_id=self.world.bot_user_id, members=[]))

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self.world.guild(request.match_info["guild_id"])
        live = [c for c in guild.channels.values() if not c.deleted]
        return json_response([self.world.channel_payload(c) for c in live])

    async def guild_roles(self, request: web.Request) -> web.Response:
        guild = self.world.guild(request.match_info["guild_id"])
        return json_response([role_payload(r) for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.world.guild(request.match_info["guild_id"])
        user_id = request.match_info["user_id"]
        member = guild.members.get(int(user_id)) if user_id.isdigit() else None
        if member is None:
            raise unknown("Member")
        return json_response(member_payload(member))
