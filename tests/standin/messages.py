"""Creating, editing and deleting messages under Discord's rules, and telling the bot about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import too_large
from .model import LOADING, Channel, Message, utc_now
from .payloads import message_payload
from .rules import SUPPRESS_EMBEDS, check_message, check_not_empty
from .world import DIRECT_MESSAGES, GUILD_MESSAGES, World

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # what interactions report as attachment_size_limit
NONCE_WINDOW_S = 5 * 60  # how long Discord remembers an enforced nonce


@dataclass(frozen=True)
class Upload:
    """A file sent as multipart `files[n]` alongside payload_json."""

    index: int
    filename: str
    data: bytes
    content_type: str


def create_message(
    world: World,
    channel: Channel,
    body: dict[str, Any],
    *,
    author_id: int,
    allowed_flags: int,
    uploads: Sequence[Upload] = (),
    interaction: dict[str, Any] | None = None,
    message_type: int = 0,
) -> Message:
    """Validate `body` and store the message; Discord's answer errors are raised as DiscordError."""
    check_message(body, allowed_flags=allowed_flags)
    attachments = _attachments(world, channel, uploads)
    check_not_empty(body.get("content"), body.get("embeds") or [], body.get("components") or [],
                    attachments)
    message = Message(
        id=world.ids.next(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author_id=author_id,
        created_at=world.clock(),
        content=body.get("content") or "",
        embeds=list(body.get("embeds") or []),
        components=list(body.get("components") or []),
        attachments=attachments,
        files={u.filename: u.data for u in uploads},
        flags=body.get("flags") or 0,
        allowed_mentions=body.get("allowed_mentions"),
        nonce=None if body.get("nonce") is None else str(body["nonce"]),
        type=message_type,
        webhook_id=world.application_id if interaction else None,
        interaction_id=int(interaction["id"]) if interaction else None,
    )
    world.messages.append(message)
    if interaction is not None:
        world.message_interactions[message.id] = interaction
    _announce(world, "MESSAGE_CREATE", message)
    world.changed()
    return message


def create_placeholder(
    world: World, channel: Channel, *, flags: int, interaction: dict[str, Any], message_type: int
) -> Message:
    """The "Bot is thinking..." message a deferred response (type 5) shows until it is filled."""
    message = Message(
        id=world.ids.next(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author_id=world.bot_user_id,
        created_at=world.clock(),
        flags=flags | LOADING,
        type=message_type,
        webhook_id=world.application_id,
        interaction_id=int(interaction["id"]),
    )
    world.messages.append(message)
    world.message_interactions[message.id] = interaction
    _announce(world, "MESSAGE_CREATE", message)
    world.changed()
    return message


def find_enforced_nonce(world: World, channel: Channel, body: dict[str, Any]) -> Message | None:
    """The message an `enforce_nonce` create already made in the last few minutes, if any."""
    if not body.get("enforce_nonce") or body.get("nonce") is None:
        return None
    nonce, now = str(body["nonce"]), world.clock()
    for message in reversed(world.messages):
        if now - message.created_at > NONCE_WINDOW_S:
            break
        if (message.channel_id, message.author_id, message.nonce) == (
            channel.id, world.bot_user_id, nonce
        ):
            return message
    return None


def edit_message(
    world: World, message: Message, body: dict[str, Any], *, allowed_flags: int,
    uploads: Sequence[Upload] = (), clear_flags: int = 0,
) -> None:
    """Apply an edit; the result must still obey every limit and must not be empty.

    Of the flags only Suppress Embeds can change (visibility is fixed at creation);
    `clear_flags` drops state bits such as Loading when a deferred response is filled.
    """
    check_message(body, allowed_flags=allowed_flags)
    channel = world.channels[message.channel_id]
    attachments = message.attachments
    if "attachments" in body or uploads:
        kept = {str(a.get("id")) for a in body.get("attachments") or []}
        attachments = [a for a in message.attachments if a["id"] in kept]
        attachments += _attachments(world, channel, uploads)
    content = body["content"] if "content" in body else message.content
    embeds = body["embeds"] if "embeds" in body else message.embeds
    components = body["components"] if "components" in body else message.components
    check_not_empty(content, embeds or [], components or [], attachments)
    message.content = content or ""
    message.embeds = list(embeds or [])
    message.components = list(components or [])
    message.attachments = attachments
    message.files.update({u.filename: u.data for u in uploads})
    if "allowed_mentions" in body:
        message.allowed_mentions = body["allowed_mentions"]
    if "flags" in body:
        new_flags = body.get("flags") or 0
        message.flags = (message.flags & ~SUPPRESS_EMBEDS) | (new_flags & SUPPRESS_EMBEDS)
    message.flags &= ~clear_flags
    message.edits += 1
    message.edited_at = utc_now()
    _announce(world, "MESSAGE_UPDATE", message)
    world.changed()


def delete_message(world: World, message: Message) -> None:
    message.deleted = True
    if not message.ephemeral:
        event = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            event["guild_id"] = str(message.guild_id)
        world.dispatch("MESSAGE_DELETE", event, intent=_intent(message))
    world.changed()


def message_json(world: World, message: Message) -> dict[str, Any]:
    return message_payload(
        message, users=world.users, interaction=world.message_interactions.get(message.id)
    )


def _announce(world: World, event: str, message: Message) -> None:
    if not message.ephemeral:  # Discord sends nobody events about ephemeral messages
        world.dispatch(event, message_json(world, message), intent=_intent(message))


def _intent(message: Message) -> int:
    return GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES


def _attachments(world: World, channel: Channel, uploads: Sequence[Upload]) -> list[dict[str, Any]]:
    found = []
    for upload in uploads:
        if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
            raise too_large()
        attachment_id = world.ids.next()
        url = f"https://cdn.discordapp.com/attachments/{channel.id}/{attachment_id}/{upload.filename}"
        found.append({
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        })
    return found
