"""The stand-in's world: the bot, guilds, channels, members, roles, and the logs tests read."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from .errors import missing_access, unknown
from .interaction import Interaction
from .model import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    EMBED_LINKS,
    EVERYONE_DEFAULT,
    MANAGE_GUILD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Member,
    Message,
    Notifier,
    Refusal,
    Role,
    Snowflakes,
    User,
)
from .payloads import channel_payload, guild_payload, member_payload, role_payload

# Gateway intents that gate the events the world dispatches.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12


class World:
    """Everything Discord knows, plus what the bot did to it, for tests to read."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ids = Snowflakes()
        self.notifier = Notifier()
        self.token = f"standin.{secrets.token_urlsafe(24)}"
        self.application_id = self.ids.next()
        self.bot_user_id = self.application_id  # as for every application created since 2020
        self.bot_user = User(self.bot_user_id, "StandinBot", bot=True)
        self.app_owner = User(self.ids.next(), "app-owner")
        self.privileged_intents = 0  # intents the application is approved for
        self.recommended_shards = 1  # what GET /gateway/bot advises
        self.max_guilds_per_shard = 2500  # more on one shard: IDENTIFY is refused (4011)
        self.users: dict[int, User] = {u.id: u for u in (self.bot_user, self.app_owner)}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}  # by recipient id
        self.messages: list[Message] = []
        self.message_interactions: dict[int, dict[str, Any]] = {}  # interaction_metadata by id
        self.interactions: dict[str, Interaction] = {}  # by token
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # by guild id, None = global
        self.sync_calls: Counter[int | None] = Counter()
        self.errors: list[Refusal] = []
        self.requests: list[tuple[str, str]] = []
        self.message_bodies: list[tuple[int, dict[str, Any]]] = []  # (channel id, create body)
        self.rate_limits: list[tuple[str, str]] = []

    def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Send a gateway event to the bot; the server wires this to the gateway."""

    def application_flags(self) -> int:
        """Flags announcing which privileged intents the application is approved for."""
        flags = 0
        for intent, flag in ((1 << 8, 1 << 13), (1 << 1, 1 << 15), (1 << 15, 1 << 19)):
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    def changed(self) -> None:
        self.notifier.notify()

    # world building

    def add_guild(
        self, name: str = "Test Guild", *, owner_id: int | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild the bot is in; with `shard` (id, count), one whose events go to that shard."""
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        guild = Guild(guild_id, name, owner_id or self.ids.next())
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", EVERYONE_DEFAULT, 0)
        bot_role = Role(
            self.ids.next(), guild.id, self.bot_user.name, EVERYONE_DEFAULT, managed=True
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user_id] = Member(self.bot_user, [bot_role.id])
        self.guilds[guild.id] = guild
        self.dispatch("GUILD_CREATE", self.guild_create_payload(guild, GUILDS), intent=GUILDS)
        return guild

    def add_channel(self, guild: Guild, name: str = "general") -> Channel:
        channel = Channel(self.ids.next(), name, guild.id, position=len(guild.channels))
        guild.channels[channel.id] = self.channels[channel.id] = channel
        self.dispatch("CHANNEL_CREATE", self.channel_payload(channel), intent=GUILDS)
        return channel

    def add_role(self, guild: Guild, name: str, *, permissions: int = 0) -> Role:
        role = Role(self.ids.next(), guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        event = {"guild_id": str(guild.id), "role": role_payload(role)}
        self.dispatch("GUILD_ROLE_CREATE", event, intent=GUILDS)
        return role

    def add_member(
        self, guild: Guild, name: str, *, roles: Iterable[Role] = (), admin: bool = False
    ) -> User:
        """A new user who is a member of `guild`; `admin` gives a role with Manage Guild."""
        user = self.add_user(name)
        role_ids = [r.id for r in roles]
        if admin:
            admins = next((r for r in guild.roles.values() if r.name == "Admins"), None)
            role_ids.append((admins or self.add_role(guild, "Admins", permissions=MANAGE_GUILD)).id)
        member = guild.members[user.id] = Member(user, role_ids)
        event = {"guild_id": str(guild.id), **member_payload(member)}
        self.dispatch("GUILD_MEMBER_ADD", event, intent=GUILD_MEMBERS)
        return user

    def add_user(self, name: str) -> User:
        """A user known to Discord but in no guild."""
        user = User(self.ids.next(), name)
        self.users[user.id] = user
        return user

    def set_bot_permissions(
        self, channel: Channel, *, view: bool = True, send: bool = True, embed: bool = True
    ) -> None:
        """Deny the bot View Channel / Send Messages / Embed Links in `channel` (an overwrite)."""
        denied = {VIEW_CHANNEL: view, SEND_MESSAGES: send, EMBED_LINKS: embed}
        channel.bot_denied = sum(bit for bit, allowed in denied.items() if not allowed)
        self.dispatch("CHANNEL_UPDATE", self.channel_payload(channel), intent=GUILDS)

    def delete_channel(self, channel: Channel) -> None:
        payload = self.channel_payload(channel)
        channel.deleted = True
        self.dispatch("CHANNEL_DELETE", payload, intent=GUILDS)

    def close_dms(self, user: User) -> None:
        """The user blocks DMs from server members: sending them a DM answers 403 50007."""
        user.dms_open = False

    # lookups that answer like Discord

    def guild(self, guild_id: int | str) -> Guild:
        found = self.guilds.get(int(guild_id))
        if found is None:
            raise unknown("Guild")
        return found

    def channel(self, channel_id: int | str) -> Channel:
        found = self.channels.get(int(channel_id)) if str(channel_id).isdigit() else None
        if found is None or found.deleted:
            raise unknown("Channel")
        if found.guild_id is not None and not self.bot_permissions(found) & VIEW_CHANNEL:
            raise missing_access()
        return found

    def user(self, user_id: int | str) -> User:
        found = self.users.get(int(user_id)) if str(user_id).isdigit() else None
        if found is None:
            raise unknown("User")
        return found

    def dm_channel(self, user: User) -> Channel:
        if user.id not in self.dm_channels:
            channel = Channel(self.ids.next(), "", None, type=1, recipient_id=user.id)
            self.dm_channels[user.id] = self.channels[channel.id] = channel
        return self.dm_channels[user.id]

    def channel_messages(self, channel: Channel) -> list[Message]:
        """Messages in the channel, oldest first, without deleted ones (ephemeral ones included)."""
        return [m for m in self.messages if m.channel_id == channel.id and not m.deleted]

    def dm_messages(self, user: User) -> list[Message]:
        channel = self.dm_channels.get(user.id)
        return self.channel_messages(channel) if channel else []

    async def wait_message(
        self, predicate: Callable[[Message], bool], timeout_s: float = 5
    ) -> Message:
        """The first message (in creation order, deleted ones excluded) matching `predicate`."""
        return await self.notifier.wait_for(
            lambda: next((m for m in self.messages if not m.deleted and predicate(m)), None),
            timeout_s,
            "a message to match",
        )

    async def wait_refusal(self, code: int | None = None, timeout_s: float = 5) -> Refusal:
        """The first refused request (with this error `code`, if given)."""
        return await self.notifier.wait_for(
            lambda: next((e for e in self.errors if code in (None, e.code)), None),
            timeout_s,
            f"a refusal with code {code}" if code else "a refusal",
        )

    def may_dm(self, user: User) -> bool:
        """Discord lets a bot DM only users who share a guild with it and accept server DMs."""
        shares_guild = any(user.id in guild.members for guild in self.guilds.values())
        return user.dms_open and shares_guild and not user.bot

    # permissions

    def member_permissions(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        if member is None:
            return 0
        granted = guild.everyone_role.permissions
        for role_id in member.role_ids:
            granted |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if granted & ADMINISTRATOR else granted

    def bot_permissions(self, channel: Channel) -> int:
        if channel.guild_id is None:
            return VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
        granted = self.member_permissions(self.guilds[channel.guild_id], self.bot_user_id)
        return granted & ~channel.bot_denied

    # payloads

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        recipient = self.users.get(channel.recipient_id or 0)
        return channel_payload(channel, bot_id=self.bot_user_id, recipient=recipient)

    def guild_create_payload(self, guild: Guild, intents: int) -> dict[str, Any]:
        members = [
            m for m in guild.members.values()
            if intents & GUILD_MEMBERS or m.user.id == self.bot_user_id
        ]
        return guild_payload(guild, bot_id=self.bot_user_id, members=members)

    # logs

    def refuse(self, method: str, path: str, status: int, code: int, reason: str) -> None:
        self.errors.append(Refusal(method, path, status, code, reason))
        self.changed()
