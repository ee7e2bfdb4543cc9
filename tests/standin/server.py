"""DiscordStandin: the loopback server (REST + gateway) and the test's hands (invoke, click)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Self

import discord.gateway
import discord.http
import yarl
from aiohttp import web

from . import interaction as kinds
from .command_rules import modal_inputs
from .errors import DiscordError, StandinError
from .gateway import Gateway
from .interaction import Interaction
from .invoke import check_visible, command_data, interaction_payload
from .messages import message_json
from .model import Channel, Guild, Message, User
from .rest_commands import CommandRoutes
from .rest_core import API, CoreRoutes, Plumbing
from .rest_interactions import InteractionRoutes
from .rest_messages import MessageRoutes
from .rules import BUTTON, SELECT_TYPES
from .world import World


class DiscordStandin(World):
    """A Discord for one bot on 127.0.0.1 that refuses what Discord refuses."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self.port = 0
        self.plumbing = Plumbing(self)
        self.gateway = Gateway(self, lambda: self.gateway_url)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application(middlewares=[self.plumbing.middleware], client_max_size=64 << 20)
        for routes in (CoreRoutes(self, lambda: self.gateway_url), MessageRoutes(self),
                       CommandRoutes(self), InteractionRoutes(self)):
            app.add_routes(routes.table())
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", f"{API}/{{tail:.*}}", self.plumbing.unknown_route)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # A burst of 200 interactions opens as many connections: keep them all queued.
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def close(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway (a plain Client never asks) here."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        self.gateway.dispatch(event, data, intent=intent)

    def rate_limit_next(
        self, route_substring: str, retry_after_s: float = 0.05, count: int = 1
    ) -> None:
        """The next `count` REST calls whose "METHOD /path" contains the substring answer 429."""
        self.plumbing.rate_limit_next(route_substring, retry_after_s, count)

    def refuse_next(
        self, route_substring: str, status: int = 400, code: int = 50035,
        message: str = "Invalid Form Body", count: int = 1, after: int = 0,
    ) -> None:
        """After `after` of them, the next `count` REST calls whose "METHOD /path" contains the
        substring are refused."""
        error = DiscordError(status, code, message)
        self.plumbing.refuse_next(route_substring, error, count, after)

    def posted_bodies(self, channel: Channel) -> list[dict[str, Any]]:
        """The body of every message create sent to the channel, refused ones too, oldest first."""
        return [body for channel_id, body in self.message_bodies if channel_id == channel.id]

    # gateway control

    async def wait_ready(
        self, timeout_s: float = 10, *, shard_ids: Iterable[int] | None = None
    ) -> None:
        """Until these shards (None: every shard of the count) are connected and caught up
        (READY + their GUILD_CREATEs sent, or RESUMED)."""
        wanted = None if shard_ids is None else list(shard_ids)
        await self.notifier.wait_for(
            lambda: True if self.gateway.attached(wanted) else None, timeout_s,
            f"a bot on the gateway (shards {'all' if wanted is None else wanted})",
        )

    async def disconnect_gateway(
        self, *, resumable: bool = True, shard_id: int | None = None
    ) -> None:
        """Drop a bot connection (an unsharded bot's, or `shard_id`'s): it RESUMEs (resumable)
        or gets op 9 and IDENTIFYs again."""
        self.gateway.disconnect(resumable=resumable, shard_id=shard_id)

    # what users do

    async def invoke(
        self, guild: Guild | None, channel: Channel, user: User, command: str,
        options: dict[str, Any] | None = None, *, focused: str | None = None,
    ) -> Interaction:
        """Run a synced slash command, e.g. "stems separate"; with `focused`, ask autocomplete."""
        self._check_place(guild, channel, user)
        data, root = command_data(self, guild, command, options or {}, focused)
        check_visible(self, root, guild, user)
        kind = kinds.AUTOCOMPLETE if focused else kinds.APPLICATION_COMMAND
        return self._send(kind, guild, channel, user, data)

    async def click(self, message: Message, custom_id: str, user: User) -> Interaction:
        """Press the (non-link, enabled) button `custom_id` of `message`."""
        self._component(message, custom_id, user, {BUTTON})
        data = {"custom_id": custom_id, "component_type": BUTTON}
        return self._send_on(message, user, data)

    async def select(
        self, message: Message, custom_id: str, values: list[str], user: User
    ) -> Interaction:
        """Pick `values` in the select menu `custom_id` of `message`."""
        menu = self._component(message, custom_id, user, set(SELECT_TYPES))
        if not menu.get("min_values", 1) <= len(values) <= menu.get("max_values", 1):
            raise StandinError(f"select {custom_id!r} takes between min and max values")
        offered = [o["value"] for o in menu.get("options", [])]
        if menu["type"] == 3 and not set(values) <= set(offered):
            raise StandinError(f"select {custom_id!r} offers only {offered}")
        data = {"custom_id": custom_id, "component_type": menu["type"], "values": values}
        return self._send_on(message, user, data)

    async def submit_modal(self, opened: Interaction, values: dict[str, str]) -> Interaction:
        """Fill and submit the modal the bot answered `opened` with (text inputs only)."""
        modal = next((r.data for r in opened.responses if r.type == kinds.MODAL), None)
        if modal is None:
            raise StandinError(f"interaction {opened.id} was not answered with a modal")
        inputs = {i["custom_id"]: i for i in modal_inputs(modal["components"])}
        if set(values) - set(inputs):
            raise StandinError(f"the modal has no inputs {sorted(set(values) - set(inputs))}")
        for custom_id, text_input in inputs.items():
            value = values.get(custom_id, "")
            if text_input.get("required", True) and not value:
                raise StandinError(f"the modal input {custom_id!r} is required")
            low, high = text_input.get("min_length", 0), text_input.get("max_length", 4000)
            if not low <= len(value) <= high:
                raise StandinError(f"the modal input {custom_id!r} has a bad length")
        submitted = [_submitted(c, values) for c in modal["components"]]
        data = {"custom_id": modal["custom_id"], "components": submitted}
        guild = self.guilds.get(opened.guild_id or 0)
        channel = self.channels[opened.channel_id]
        return self._send(
            kinds.MODAL_SUBMIT, guild, channel, opened.user, data, source=opened.source
        )

    # helpers

    def _check_place(self, guild: Guild | None, channel: Channel, user: User) -> None:
        shard_id = self.gateway.shard_for(guild.id if guild else None)
        if shard_id not in self.gateway.sessions:
            raise StandinError(f"no bot session on shard {shard_id}: start the bot and await "
                               "wait_ready() first")
        if channel.deleted:
            raise StandinError(f"channel {channel.name!r} was deleted")
        if guild is None and channel.recipient_id != user.id:
            raise StandinError("outside a guild, use the user's DM channel: dm_channel(user)")
        if guild is not None and channel.guild_id != guild.id:
            raise StandinError(f"channel {channel.name!r} is not in guild {guild.name!r}")

    def _component(
        self, message: Message, custom_id: str, user: User, types: set[int]
    ) -> dict[str, Any]:
        if message.deleted:
            raise StandinError(f"message {message.id} was deleted")
        meta = self.message_interactions.get(message.id)
        if message.ephemeral and meta and meta["user"]["id"] != str(user.id):
            owner = meta["user"]["username"]
            raise StandinError(f"only {owner} can see ephemeral message {message.id}")
        found = [c for row in message.components for c in row.get("components", [])
                 if c.get("custom_id") == custom_id]
        if not found or found[0]["type"] not in types:
            raise StandinError(f"message {message.id} has no such component {custom_id!r} "
                               "(link buttons have no custom_id: Discord just opens their url)")
        component: dict[str, Any] = found[0]
        if component.get("disabled"):
            raise StandinError(f"component {custom_id!r} is disabled")
        return component

    def _send_on(self, message: Message, user: User, data: dict[str, Any]) -> Interaction:
        channel = self.channels[message.channel_id]
        guild = self.guilds.get(channel.guild_id or 0)
        self._check_place(guild, channel, user)
        return self._send(kinds.MESSAGE_COMPONENT, guild, channel, user, data, source=message)

    def _send(
        self, kind: int, guild: Guild | None, channel: Channel, user: User, data: dict[str, Any],
        *, source: Message | None = None,
    ) -> Interaction:
        interaction_id, token = self.ids.next(), secrets.token_urlsafe(48)
        payload = interaction_payload(
            self, kind=kind, interaction_id=interaction_id, token=token, guild=guild,
            channel=channel, user=user, data=data,
        )
        if source is not None:
            payload["message"] = message_json(self, source)
        interaction = Interaction(
            interaction_id, token, kind, user, guild.id if guild else None, channel.id,
            self.clock(), payload, self.notifier, source=source,
        )
        self.interactions[token] = interaction
        self.dispatch("INTERACTION_CREATE", payload)
        return interaction


def _submitted(component: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """One modal component as Discord echoes it back on submit, with the typed value."""
    if component.get("type") == 18:
        inner = component["component"]
        return {"type": 18, "component": {"type": inner["type"], "custom_id": inner["custom_id"],
                                          "value": values.get(inner["custom_id"], "")}}
    return {"type": 1, "components": [
        {"type": c["type"], "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}
        for c in component.get("components", [])
    ]}
