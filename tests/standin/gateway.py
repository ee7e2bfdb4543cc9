"""The gateway websocket: HELLO, IDENTIFY/READY, heartbeats, seqs, RESUME with replay."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import user_payload
from .world import GUILDS, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41_250
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
NOT_AUTHENTICATED, AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED = 4003, 4004, 4005
UNKNOWN_OPCODE, DECODE_ERROR, DISALLOWED_INTENTS, GOING_AWAY = 4001, 4002, 4014, 1001


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
    id: str
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None


class Gateway:
    def __init__(self, world: World, url: Callable[[], str]) -> None:
        self.world = world
        self.url = url
        self.session: Session | None = None  # the bot's session, connected or waiting to resume
        self.identify_count = 0
        self.resume_count = 0
        self.live = asyncio.Event()  # a connection is attached and caught up
        self._connections: set[Connection] = set()

    def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Send (or buffer for RESUME) an event; events of intents not asked for are dropped."""
        session = self.session
        if session is None or (intent and not session.intents & intent):
            return
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.connection is not None:
            session.connection.send(frame)

    def disconnect(self, *, resumable: bool) -> None:
        session = self.session
        if session is None or session.connection is None:
            raise RuntimeError("stand-in: the bot is not connected to the gateway")
        connection, session.connection = session.connection, None
        self.live.clear()
        if resumable:
            connection.close(4000)  # "unknown error": the client reconnects and RESUMEs
        else:
            self.session = None
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})

    async def close(self) -> None:
        for connection in list(self._connections):
            connection.close(GOING_AWAY)
        for connection in list(self._connections):
            await connection.stop()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        connection = Connection(ws)
        self._connections.add(connection)
        connection.send({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS},
                         "s": None, "t": None})
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    connection.close(DECODE_ERROR)
                    break
                self._on_frame(connection, json.loads(message.data))
        finally:
            self._connections.discard(connection)
            if self.session is not None and self.session.connection is connection:
                self.session.connection = None
                self.live.clear()
                if ws.close_code in (1000, 1001):  # a clean close ends the session
                    self.session = None
            await connection.stop()
        return ws

    def _on_frame(self, connection: Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        attached = self.session is not None and self.session.connection is connection
        if op == HEARTBEAT:
            connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            self._identify(connection, data or {}, attached)
        elif op == RESUME:
            self._resume(connection, data or {})
        elif op in (3, 4, 8):  # presence, voice state, member requests: accepted, not acted on
            if not attached:
                connection.close(NOT_AUTHENTICATED)
        else:
            log.error("stand-in gateway: unknown opcode %r", op)
            connection.close(UNKNOWN_OPCODE)

    def _identify(self, connection: Connection, data: dict[str, Any], attached: bool) -> None:
        if attached:
            connection.close(ALREADY_AUTHENTICATED)
            return
        if data.get("token") != self.world.token:
            connection.close(AUTHENTICATION_FAILED)
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.world.privileged_intents:
            connection.close(DISALLOWED_INTENTS)
            return
        self.session = Session(secrets.token_hex(16), intents, connection=connection)
        self.identify_count += 1
        self.dispatch("READY", self._ready_payload(data))
        for guild in self.world.guilds.values():
            self.dispatch("GUILD_CREATE", self.world.guild_create_payload(guild, intents),
                          intent=GUILDS)
        self.live.set()

    def _ready_payload(self, identify: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        assert self.session is not None
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**user_payload(world.bot_user), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in world.guilds],
            "session_id": self.session.id,
            "resume_gateway_url": self.url(),
            "application": {"id": str(world.application_id), "flags": world.application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "session_type": "normal",
            "geo_ordered_rtc_regions": [],
            "_trace": ["standin"],
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        return ready

    def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.world.token:
            connection.close(AUTHENTICATION_FAILED)
            return
        session = self.session
        if session is None or session.id != data.get("session_id") or session.connection:
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.connection = connection
        seen = int(data.get("seq") or 0)
        for frame in session.sent:
            if frame["s"] > seen:
                connection.send(frame)
        self.resume_count += 1
        self.dispatch("RESUMED", {"_trace": ["standin"]})
        self.live.set()
