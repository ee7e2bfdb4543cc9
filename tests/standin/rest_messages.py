"""REST routes for channels and their messages, with Discord's permission and DM rules."""

from __future__ import annotations

from aiohttp import web

from .errors import DiscordError, cannot_dm, missing_permissions, unknown
from .messages import (
    create_message,
    delete_message,
    edit_message,
    find_enforced_nonce,
    message_json,
)
from .model import ATTACH_FILES, EMBED_LINKS, MANAGE_MESSAGES, SEND_MESSAGES, Channel, Message
from .rest_core import API, json_response, no_content, read_body
from .rules import CHANNEL_FLAGS
from .world import World


class MessageRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def table(self) -> list[web.RouteDef]:
        channel = f"{API}/channels/{{channel_id}}"
        message = f"{channel}/messages/{{message_id}}"
        return [
            web.get(channel, self.get_channel),
            web.get(f"{channel}/messages", self.history),
            web.post(f"{channel}/messages", self.send),
            web.get(message, self.get_message),
            web.patch(message, self.edit),
            web.delete(message, self.delete),
        ]

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        return json_response(self.world.channel_payload(channel))

    async def history(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        limit = int(request.query.get("limit", "50"))
        visible = [m for m in self.world.channel_messages(channel) if not m.ephemeral]
        newest_first = list(reversed(visible))[:limit]
        return json_response([message_json(self.world, m) for m in newest_first])

    async def send(self, request: web.Request) -> web.Response:
        world = self.world
        channel = world.channel(request.match_info["channel_id"])
        body, uploads = await read_body(request)
        world.message_bodies.append((channel.id, body))
        self._check_may_send(channel, bool(body.get("embeds")), bool(uploads))
        existing = find_enforced_nonce(world, channel, body)
        if existing is not None:
            return json_response(message_json(world, existing))
        message = create_message(
            world, channel, body, author_id=world.bot_user_id, allowed_flags=CHANNEL_FLAGS,
            uploads=uploads,
        )
        return json_response(message_json(world, message))

    def _check_may_send(self, channel: Channel, has_embeds: bool, has_files: bool) -> None:
        if channel.type == 1:
            if not self.world.may_dm(self.world.users[channel.recipient_id or 0]):
                raise cannot_dm()
            return
        granted = self.world.bot_permissions(channel)
        # Discord drops embeds silently without Embed Links; refusing makes the loss visible.
        needed = SEND_MESSAGES | (EMBED_LINKS if has_embeds else 0)
        needed |= ATTACH_FILES if has_files else 0
        if granted & needed != needed:
            raise missing_permissions()

    def _message(self, request: web.Request) -> tuple[Channel, Message]:
        channel = self.world.channel(request.match_info["channel_id"])
        message_id = request.match_info["message_id"]
        for message in self.world.messages:
            if str(message.id) == message_id and message.channel_id == channel.id:
                if message.deleted or message.ephemeral:  # ephemeral ones only via the webhook
                    break
                return channel, message
        raise unknown("Message")

    async def get_message(self, request: web.Request) -> web.Response:
        _, message = self._message(request)
        return json_response(message_json(self.world, message))

    async def edit(self, request: web.Request) -> web.Response:
        _, message = self._message(request)
        if message.author_id != self.world.bot_user_id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        body, uploads = await read_body(request)
        edit_message(self.world, message, body, allowed_flags=CHANNEL_FLAGS, uploads=uploads)
        return json_response(message_json(self.world, message))

    async def delete(self, request: web.Request) -> web.Response:
        channel, message = self._message(request)
        if message.author_id != self.world.bot_user_id and channel.guild_id is not None:
            if not self.world.bot_permissions(channel) & MANAGE_MESSAGES:
                raise missing_permissions()
        delete_message(self.world, message)
        return no_content()
