"""The JSON shapes Discord sends for users, members, roles, channels, guilds and messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Channel, Guild, Member, Message, Role, User


def user_payload(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.name,
        "global_name": None if user.bot else user.name,
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
        "flags": 0,
    }


def member_payload(member: Member, *, permissions: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "user": user_payload(member.user),
        "roles": [str(r) for r in member.role_ids],
        "joined_at": member.joined_at.isoformat(),
        "nick": None,
        "avatar": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "premium_since": None,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def role_payload(role: Role) -> dict[str, Any]:
    return {
        "id": str(role.id),
        "name": role.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": True,
        "flags": 0,
    }


def channel_payload(
    channel: Channel, *, bot_id: int, recipient: User | None = None
) -> dict[str, Any]:
    if channel.type == 1:
        assert recipient is not None, "a DM channel needs its recipient"
        return {
            "id": str(channel.id),
            "type": 1,
            "last_message_id": None,
            "recipients": [user_payload(recipient)],
            "flags": 0,
        }
    overwrites = []
    if channel.bot_denied:
        overwrites.append(
            {"id": str(bot_id), "type": 1, "allow": "0", "deny": str(channel.bot_denied)}
        )
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": overwrites,
        "topic": None,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }


def guild_payload(guild: Guild, *, bot_id: int, members: list[Member]) -> dict[str, Any]:
    """A full guild, as in GUILD_CREATE (with only the given members)."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.locale,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "features": [],
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "joined_at": guild.joined_at.isoformat(),
        "large": False,
        "unavailable": False,
        "member_count": len(guild.members),
        "members": [member_payload(m) for m in members],
        "channels": [
            channel_payload(c, bot_id=bot_id) for c in guild.channels.values() if not c.deleted
        ],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def message_payload(
    message: Message, *, users: Mapping[int, User], interaction: dict[str, Any] | None = None
) -> dict[str, Any]:
    mentions = message.mentions
    mentioned = [users.get(u) or User(u, str(u)) for u in sorted(mentions.users)]
    payload: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": user_payload(users[message.author_id]),
        "content": message.content,
        "timestamp": message.timestamp.isoformat(),
        "edited_timestamp": message.edited_at.isoformat() if message.edited_at else None,
        "tts": False,
        "mention_everyone": mentions.everyone,
        "mentions": [user_payload(u) for u in mentioned],
        "mention_roles": [str(r) for r in sorted(mentions.roles)],
        "attachments": message.attachments,
        "embeds": message.embeds,
        "components": message.components,
        "pinned": False,
        "type": message.type,
        "flags": message.flags,
    }
    if message.guild_id is not None:
        payload["guild_id"] = str(message.guild_id)
    if message.nonce is not None:
        payload["nonce"] = message.nonce
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
        payload["application_id"] = str(message.webhook_id)
    if interaction is not None:
        payload["interaction_metadata"] = interaction
    return payload
