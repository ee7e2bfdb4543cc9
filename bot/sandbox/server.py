"""The sandbox on loopback: serve() starts it, SandboxServer closes it, run_forever() serves on."""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

import aiohttp
from aiohttp import web

from bot.sandbox.routes import Sandbox

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
TICK_S = 0.05


class SandboxServer:
    """A started sandbox: its base URL, the ticker that finishes due work, and what to close."""

    def __init__(self, sandbox: Sandbox, runner: web.AppRunner, port: int) -> None:
        self.sandbox = sandbox
        self.port = port
        self.base_url = f"http://{LOOPBACK}:{port}"
        self._runner = runner
        # The session for callbacks: made here, closed in close().
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        sandbox._attach(self._http)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        # Real time drives callbacks when nobody polls; tests with a fake clock call due() directly.
        while True:
            try:
                self.sandbox.due()
            except Exception:
                log.exception("sandbox tick failed")
            await asyncio.sleep(TICK_S)

    async def close(self) -> None:
        self._ticker.cancel()
        await asyncio.gather(self._ticker, return_exceptions=True)
        self.sandbox._attach(None)
        await self.sandbox._drop_callbacks()
        await self._http.close()
        await self._runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def serve(sandbox: Sandbox, host: str = LOOPBACK, port: int = 0) -> SandboxServer:
    """Start the sandbox on a loopback port (0 picks a free one)."""
    if host != LOOPBACK:
        raise ValueError(f"the sandbox binds {LOOPBACK} only, not {host!r}")
    # Short shutdown and handler cancellation: a "timeout" fault must not hold up close().
    runner = web.AppRunner(
        sandbox.app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return SandboxServer(sandbox, runner, int(runner.addresses[0][1]))


async def run_forever(port: int, host: str = LOOPBACK, dialect: str = "snake") -> None:
    """Serve a fresh sandbox, answering in `dialect`, until cancelled."""
    async with await serve(Sandbox(dialect=dialect), host, port) as server:
        log.info("sandbox crun API at %s (accepts any non-empty x-api-key; %s dialect)",
                 server.base_url, dialect)
        await asyncio.Event().wait()
