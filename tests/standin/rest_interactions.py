"""Callbacks and the interaction webhook (followups, @original), by Discord's rules."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import interaction as kinds
from .command_rules import check_autocomplete_result, check_modal
from .errors import already_acknowledged, form_error, invalid_webhook_token, unknown
from .interaction import Interaction, Response
from .messages import (
    Upload,
    create_message,
    create_placeholder,
    delete_message,
    edit_message,
    message_json,
)
from .model import EPHEMERAL, LOADING, Message
from .payloads import user_payload
from .rest_core import API, json_response, no_content, read_body
from .rules import INTERACTION_FLAGS, check_message
from .world import World

FIRST_RESPONSE_DEADLINE_S = 3.0
TOKEN_LIFETIME_S = 15 * 60.0
CHAT_INPUT_COMMAND_MESSAGE = 20


class InteractionRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def table(self) -> list[web.RouteDef]:
        webhook = f"{API}/webhooks/{{app_id}}/{{token}}"
        return [
            web.post(f"{API}/interactions/{{interaction_id}}/{{token}}/callback", self.callback),
            web.post(webhook, self.followup),
            web.get(f"{webhook}/messages/{{message_id}}", self.get_message),
            web.patch(f"{webhook}/messages/{{message_id}}", self.edit_message),
            web.delete(f"{webhook}/messages/{{message_id}}", self.delete_message),
        ]

    # the initial response

    async def callback(self, request: web.Request) -> web.Response:
        world = self.world
        interaction = world.interactions.get(request.match_info["token"])
        if interaction is None or str(interaction.id) != request.match_info["interaction_id"]:
            raise unknown("interaction")
        if interaction.acknowledged:
            raise already_acknowledged()
        if world.clock() - interaction.created_at > FIRST_RESPONSE_DEADLINE_S:
            raise unknown("interaction")
        body, uploads = await read_body(request)
        kind, data = body.get("type"), body.get("data")
        updates = (kinds.DEFERRED_UPDATE_MESSAGE, kinds.UPDATE_MESSAGE)
        if kind not in kinds.ALLOWED_CALLBACKS[interaction.type] or (
            kind in updates and interaction.source is None
        ):
            raise form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID",
                             f"Response type {kind} is invalid for interaction {interaction.type}")
        message = self._respond(interaction, kind, data or {}, uploads)
        interaction.responses.append(Response(kind, data, world.clock()))
        world.changed()
        return json_response(self._callback_json(interaction, kind, message))

    def _respond(
        self, interaction: Interaction, kind: int, data: dict[str, Any], uploads: list[Upload]
    ) -> Message | None:
        world = self.world
        channel = world.channels[interaction.channel_id]
        meta, message_type = self._metadata(interaction), self._message_type(interaction)
        if kind == kinds.CHANNEL_MESSAGE:
            interaction.original = create_message(
                world, channel, data, author_id=world.bot_user_id, allowed_flags=INTERACTION_FLAGS,
                uploads=uploads, interaction=meta, message_type=message_type,
            )
        elif kind == kinds.DEFERRED_CHANNEL_MESSAGE:
            check_message(data, allowed_flags=INTERACTION_FLAGS)
            interaction.original = create_placeholder(
                world, channel, flags=(data.get("flags") or 0) & EPHEMERAL, interaction=meta,
                message_type=message_type,
            )
        elif kind in (kinds.DEFERRED_UPDATE_MESSAGE, kinds.UPDATE_MESSAGE):
            interaction.original = interaction.source
            if kind == kinds.UPDATE_MESSAGE and interaction.source is not None:
                edit_message(world, interaction.source, data, allowed_flags=INTERACTION_FLAGS,
                             uploads=uploads)
        elif kind == kinds.AUTOCOMPLETE_RESULT:
            check_autocomplete_result(data)
        elif kind == kinds.MODAL:
            check_modal(data)
        return interaction.original if kind != kinds.DEFERRED_UPDATE_MESSAGE else None

    def _callback_json(
        self, interaction: Interaction, kind: int, message: Message | None
    ) -> dict[str, Any]:
        """The body discord.py asks for with ?with_response=1; views bind to the message id."""
        info: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            info["response_message_id"] = str(message.id)
            info["response_message_loading"] = message.loading
            info["response_message_ephemeral"] = message.ephemeral
            if kind in (kinds.CHANNEL_MESSAGE, kinds.UPDATE_MESSAGE):
                resource["message"] = message_json(self.world, message)
        return {"interaction": info, "resource": resource}

    def _metadata(self, interaction: Interaction) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user_payload(interaction.user),
            "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
        }
        if interaction.source is not None:
            meta["interacted_message_id"] = str(interaction.source.id)
        if interaction.original is not None:
            meta["original_response_message_id"] = str(interaction.original.id)
        return meta

    @staticmethod
    def _message_type(interaction: Interaction) -> int:
        return CHAT_INPUT_COMMAND_MESSAGE if interaction.type == kinds.APPLICATION_COMMAND else 0

    # the webhook: followups and the original response

    def _webhook(self, request: web.Request) -> Interaction:
        interaction = self.world.interactions.get(request.match_info["token"])
        if request.match_info["app_id"] != str(self.world.application_id) or interaction is None:
            raise unknown("Webhook")
        if self.world.clock() - interaction.created_at > TOKEN_LIFETIME_S:
            raise invalid_webhook_token()
        acked = [r.type for r in interaction.responses]
        if not acked or acked[0] == kinds.AUTOCOMPLETE_RESULT:
            raise unknown("Webhook")
        return interaction

    def _webhook_message(self, request: web.Request) -> tuple[Interaction, Message]:
        interaction = self._webhook(request)
        wanted = request.match_info["message_id"]
        candidates = [interaction.original, *interaction.followups]
        for message in candidates:
            if message is not None and not message.deleted:
                if wanted == "@original" and message is interaction.original:
                    return interaction, message
                if wanted == str(message.id):
                    return interaction, message
        raise unknown("Message")

    async def followup(self, request: web.Request) -> web.Response:
        """Fill a still-"thinking" original (keeping its visibility), or make a new message."""
        interaction = self._webhook(request)
        body, uploads = await read_body(request)
        original = interaction.original
        if original is not None and original.loading and not original.deleted:
            fill = {k: v for k, v in body.items() if k != "flags"}
            edit_message(self.world, original, fill, allowed_flags=INTERACTION_FLAGS,
                         uploads=uploads, clear_flags=LOADING)
            return json_response(message_json(self.world, original))
        channel = self.world.channels[interaction.channel_id]
        message = create_message(
            self.world, channel, body, author_id=self.world.bot_user_id,
            allowed_flags=INTERACTION_FLAGS, uploads=uploads,
            interaction=self._metadata(interaction), message_type=self._message_type(interaction),
        )
        interaction.followups.append(message)
        self.world.changed()
        return json_response(message_json(self.world, message))

    async def get_message(self, request: web.Request) -> web.Response:
        _, message = self._webhook_message(request)
        return json_response(message_json(self.world, message))

    async def edit_message(self, request: web.Request) -> web.Response:
        _, message = self._webhook_message(request)
        body, uploads = await read_body(request)
        edit_message(self.world, message, body, allowed_flags=INTERACTION_FLAGS, uploads=uploads,
                     clear_flags=LOADING)
        return json_response(message_json(self.world, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        _, message = self._webhook_message(request)
        delete_message(self.world, message)
        return no_content()
