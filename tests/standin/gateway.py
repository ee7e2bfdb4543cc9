"""The gateway websocket: HELLO, IDENTIFY/READY per shard, heartbeats, seqs, RESUME with replay."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import user_payload
from .sessions import Connection, Session, guild_of, shard_in, shard_of
from .world import GUILDS, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41_250
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
NOT_AUTHENTICATED, AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED = 4003, 4004, 4005
UNKNOWN_OPCODE, DECODE_ERROR, DISALLOWED_INTENTS, GOING_AWAY = 4001, 4002, 4014, 1001
INVALID_SHARD, SHARDING_REQUIRED = 4010, 4011


class Gateway:
    """Sessions by shard id. Each guild's events go to shard (guild_id >> 22) % shard_count;
    every session of one run agrees on the shard count."""

    def __init__(self, world: World, url: Callable[[], str]) -> None:
        self.world = world
        self.url = url
        self.sessions: dict[int, Session] = {}  # connected, or waiting to resume
        self.shard_count: int | None = None
        self.identify_count = 0
        self.resume_count = 0
        self.refusals: list[int] = []  # close codes sent to refuse an IDENTIFY, oldest first
        self.live = asyncio.Event()  # every shard of the count is attached and caught up
        self._connections: set[Connection] = set()

    @property
    def session(self) -> Session | None:
        """The one session of an unsharded bot (shard 0's, when sharded)."""
        return self.sessions.get(0) or next(iter(self.sessions.values()), None)

    def shard_for(self, guild_id: int | None) -> int:
        return shard_of(guild_id, self.shard_count or 1)

    def attached(self, shard_ids: Iterable[int] | None = None) -> bool:
        """Whether these shards (None: every shard of the count) are connected and caught up."""
        if self.shard_count is None:
            return False
        wanted = range(self.shard_count) if shard_ids is None else shard_ids
        return all(self._is_attached(i) for i in wanted)

    def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Send (or buffer for RESUME) an event to the shard of its guild; events of intents that
        shard did not ask for are dropped, and so are events for a shard nobody runs."""
        session = self.sessions.get(self.shard_for(guild_of(event, data)))
        if session is not None:
            self._send(session, event, data, intent)

    def disconnect(self, *, resumable: bool, shard_id: int | None = None) -> None:
        session = self.session if shard_id is None else self.sessions.get(shard_id)
        if session is None or session.connection is None:
            raise RuntimeError("stand-in: the bot is not connected to the gateway")
        connection, session.connection = session.connection, None
        self._changed()
        if resumable:
            connection.close(4000)  # "unknown error": the client reconnects and RESUMEs
        else:
            self._end(session)
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
            session = self._session_on(connection)
            if session is not None:
                session.connection = None
                if ws.close_code in (1000, 1001):  # a clean close ends the session
                    self._end(session)
                self._changed()
            await connection.stop()
        return ws

    def _send(self, session: Session, event: str, data: dict[str, Any], intent: int = 0) -> None:
        if intent and not session.intents & intent:
            return
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.connection is not None:
            session.connection.send(frame)

    def _is_attached(self, shard_id: int) -> bool:
        session = self.sessions.get(shard_id)
        return session is not None and session.connection is not None

    def _session_on(self, connection: Connection) -> Session | None:
        return next((s for s in self.sessions.values() if s.connection is connection), None)

    def _end(self, session: Session) -> None:
        if self.sessions.get(session.shard[0]) is session:
            del self.sessions[session.shard[0]]
        if not self.sessions:
            self.shard_count = None

    def _changed(self) -> None:
        if self.attached():
            self.live.set()
        else:
            self.live.clear()
        self.world.changed()

    def _on_frame(self, connection: Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        attached = self._session_on(connection) is not None
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
        refusal = ALREADY_AUTHENTICATED if attached else self._refusal(data)
        if refusal is not None:
            self.refusals.append(refusal)
            connection.close(refusal)
            return
        shard = shard_in(data)
        assert shard is not None  # _refusal checked it
        intents = int(data.get("intents", 0))
        session = Session(secrets.token_hex(16), intents, shard, connection=connection)
        self.sessions[shard[0]], self.shard_count = session, shard[1]
        self.identify_count += 1
        self._send(session, "READY", self._ready_payload(data, session))
        for guild in self.world.guilds.values():
            if shard_of(guild.id, shard[1]) == shard[0]:
                payload = self.world.guild_create_payload(guild, intents)
                self._send(session, "GUILD_CREATE", payload, GUILDS)
        self._changed()

    def _refusal(self, data: dict[str, Any]) -> int | None:
        """The close code Discord answers this IDENTIFY with, or None to accept it."""
        if data.get("token") != self.world.token:
            return AUTHENTICATION_FAILED
        if int(data.get("intents", 0)) & PRIVILEGED_INTENTS & ~self.world.privileged_intents:
            return DISALLOWED_INTENTS
        shard = shard_in(data)
        if shard is None or (self.sessions and shard[1] != self.shard_count):
            return INVALID_SHARD  # out of range, or a count the other sessions do not use
        if self._is_attached(shard[0]):
            return INVALID_SHARD  # that shard is already connected
        mine = [g for g in self.world.guilds if shard_of(g, shard[1]) == shard[0]]
        if len(mine) > self.world.max_guilds_per_shard:
            return SHARDING_REQUIRED
        return None

    def _ready_payload(self, identify: dict[str, Any], session: Session) -> dict[str, Any]:
        world = self.world
        shard_id, count = session.shard
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**user_payload(world.bot_user), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in world.guilds
                       if shard_of(g, count) == shard_id],
            "session_id": session.id,
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
        session = next((s for s in self.sessions.values() if s.id == data.get("session_id")), None)
        if session is None or session.connection:
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.connection = connection
        seen = int(data.get("seq") or 0)
        for frame in session.sent:
            if frame["s"] > seen:
                connection.send(frame)
        self.resume_count += 1
        self._send(session, "RESUMED", {"_trace": ["standin"]})
        self._changed()
