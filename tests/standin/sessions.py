"""Gateway plumbing: one websocket's ordered writer, one session's log, and shard routing."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


class Connection:
    """One websocket; a single writer task keeps frames in the order they were queued."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._outbox: asyncio.Queue[dict[str, Any] | int | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    def send(self, frame: dict[str, Any]) -> None:
        self._outbox.put_nowait(frame)

    def close(self, code: int) -> None:
        """Close after the frames already queued."""
        self._outbox.put_nowait(code)

    async def stop(self) -> None:
        self._outbox.put_nowait(None)
        await self._writer

    async def _write(self) -> None:
        while (item := await self._outbox.get()) is not None:
            try:
                if isinstance(item, int):
                    await self.ws.close(code=item)
                    return
                await self.ws.send_str(json.dumps(item))
            except (ConnectionError, RuntimeError):
                return  # the peer went away; RESUME replays what it missed


@dataclass
class Session:
    """What the gateway sent one shard's session, kept for RESUME; attached while connected."""

    id: str
    intents: int
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count); no `shard` in IDENTIFY: [0, 1]
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None


GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard a guild's events go to; events outside guilds (DMs) go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % shard_count


def guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to, read from its payload as Discord routes it."""
    raw = data.get("id") if event in GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


def shard_in(identify: dict[str, Any]) -> tuple[int, int] | None:
    """IDENTIFY's `shard: [id, count]`, [0, 1] when absent; None when malformed or out of range."""
    shard = identify.get("shard", [0, 1])
    if not (isinstance(shard, list) and len(shard) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)):
        return None
    shard_id, count = shard
    return (shard_id, count) if 0 <= shard_id < count else None
