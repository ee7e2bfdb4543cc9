"""Helpers for tests that talk real loopback HTTP: the sandbox, canned servers, a fake clock."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.api import StemApi
from bot.sandbox import Sandbox, SandboxServer, serve

MODEL = "suno/vocal-separatio"
KEY = "test-key-0123456789"
START = 1_768_900_000.0


class FakeClock:
    """Time that moves only when a test says so: the one test clock (the stand-in takes it too)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ApiRig:
    """A served sandbox and a StemApi pointed at it over one real client session."""

    sandbox: Sandbox
    server: SandboxServer
    session: aiohttp.ClientSession
    api: StemApi
    clock: FakeClock
    calls: list[tuple[str, int]] = field(default_factory=list)


@asynccontextmanager
async def open_rig(
    sandbox: Sandbox | None = None,
    *,
    api_key: str = KEY,
    timeout_s: float = 5.0,
    clock: FakeClock | None = None,
) -> AsyncIterator[ApiRig]:
    clock = clock or FakeClock()
    sandbox = sandbox or Sandbox(clock=clock)
    async with await serve(sandbox) as server, aiohttp.ClientSession() as session:
        calls: list[tuple[str, int]] = []
        api = StemApi(
            session,
            base_url=server.base_url,
            api_key=api_key,
            model=MODEL,
            timeout_s=timeout_s,
            on_call=lambda endpoint, code: calls.append((endpoint, code)),
        )
        yield ApiRig(sandbox, server, session, api, clock, calls)


def free_port() -> int:
    """A loopback port nobody listens on right now (for a server the test starts itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve any aiohttp app on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def canned_app(status: int, body: object, headers: dict[str, str] | None = None) -> web.Application:
    """Every request gets the same reply; a str body is sent as is, anything else as JSON."""

    async def handler(request: web.Request) -> web.Response:
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=status, text=text, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@asynccontextmanager
async def canned_api(
    status: int, body: object, headers: dict[str, str] | None = None, *, api_key: str = KEY
) -> AsyncIterator[StemApi]:
    async with serving(canned_app(status, body, headers)) as base_url:
        async with aiohttp.ClientSession() as session:
            yield StemApi(session, base_url=base_url, api_key=api_key, model=MODEL)


class Receiver:
    """A loopback callback endpoint that remembers what it was sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.arrived = asyncio.Event()

    def app(self) -> web.Application:
        async def hook(request: web.Request) -> web.Response:
            self.bodies.append(await request.json())
            self.arrived.set()
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", hook)
        return app


def ok(data: object) -> dict[str, object]:
    return {"code": 200, "message": "success", "data": data}


def task_info(status: str, result: object = None, **extra: object) -> dict[str, object]:
    return ok({"task_id": "sep-x", "status": status, "result": result, **extra})
