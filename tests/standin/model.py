"""Records of the stand-in's world: users, guilds, channels, messages, interactions."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from .mentions import Mentions, compute_mentions

T = TypeVar("T")

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
    | ATTACH_FILES | READ_MESSAGE_HISTORY | USE_EXTERNAL_EMOJIS | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class Snowflakes:
    """Discord-shaped ids: milliseconds since the Discord epoch, then an increment."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """An id whose guild Discord routes to `shard_id`: its timestamp moved up to
        shard_count - 1 ms later (routing reads only the timestamp bits)."""
        drawn = self.next()
        ms = drawn >> 22
        return ((ms + (shard_id - ms) % shard_count) << 22) | (drawn & 0x3FFFFF)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Wakes every waiter when the world changes; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
        try:
            async with asyncio.timeout(timeout_s):
                while (found := probe()) is None:
                    await self._event.wait()
        except TimeoutError:
            raise TimeoutError(f"stand-in: waited {timeout_s} s in vain for {what}") from None
        return found


@dataclass
class User:
    id: int
    name: str
    bot: bool = False
    dms_open: bool = True
    locale: str = "en-US"  # the member's Discord language (interaction.locale)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 1
    managed: bool = False

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int | None
    type: int = 0  # 0 guild text, 1 DM
    position: int = 0
    recipient_id: int | None = None
    bot_denied: int = 0  # permission bits denied to the bot by a member overwrite
    deleted: bool = False

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass
class Member:
    user: User
    role_ids: list[int]
    joined_at: datetime = field(default_factory=utc_now)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    joined_at: datetime = field(default_factory=utc_now)
    locale: str = "en-US"  # the server's language (guild_locale, preferred_locale)

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    created_at: float  # by the stand-in's clock
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    flags: int = 0
    allowed_mentions: dict[str, Any] | None = None
    nonce: str | None = None
    type: int = 0
    webhook_id: int | None = None
    interaction_id: int | None = None
    timestamp: datetime = field(default_factory=utc_now)
    edited_at: datetime | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred ("thinking") response nobody has filled yet."""
        return bool(self.flags & LOADING)

    @property
    def edited(self) -> bool:
        return self.edits > 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.components for c in row.get("components", []) if c["type"] == 2]

    @property
    def mentions(self) -> Mentions:
        return compute_mentions(self.content, self.allowed_mentions)

    @property
    def pinged_user_ids(self) -> set[int]:
        return self.mentions.users

    @property
    def pinged_roles(self) -> set[int]:
        return self.mentions.roles

    @property
    def pings_everyone(self) -> bool:
        return self.mentions.everyone

    @property
    def text(self) -> str:
        """Content and the visible text of every embed, for assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields", [])]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(p for p in parts if p)


@dataclass
class Refusal:
    """A request the stand-in refused, as Discord would have."""

    method: str
    path: str
    status: int
    code: int
    reason: str
