"""The bot's small web server: API callbacks (a hint to poll now), /healthz and /metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.engine import Engine
from bot.jobs import JobState

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
SCHEDULER_STALE_S = 120.0  # a loop that hasn't passed in this long is stuck
CLOSE_TIMEOUT_S = 5.0
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class WebServer:
    """Serves on HTTP_HOST:HTTP_PORT. Callbacks are never trusted: they only wake a poll."""

    def __init__(
        self, engine: Engine, gateway_ok: Callable[[], bool],
        shards: Callable[[], Sequence[int]] = tuple,
    ) -> None:
        self.engine = engine
        self.gateway_ok = gateway_ok
        self.shards = shards  # the Discord shards this process runs
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/callbacks/{token}", self._callback)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self, host: str, port: int) -> None:
        # A kept-alive client must not hold up shutdown (SIGTERM, tests).
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("web server on http://%s:%d (callbacks, /healthz, /metrics)", host, self.port)

    async def close(self) -> None:
        if self._runner is None:
            return
        try:
            await asyncio.wait_for(self._runner.cleanup(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("web server did not close within %.0f s; leaving it", CLOSE_TIMEOUT_S)

    async def _callback(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        job = await self.engine.store.by_callback_token(token) if _TOKEN.fullmatch(token) else None
        if job is None:
            return _closing(web.json_response({"ok": False}, status=404))
        hint = _task_id_hint(await request.read())  # bounded by client_max_size
        woken = self.engine.scheduler.wake(job.id)
        if not woken and job.state == JobState.RUNNING:
            # Polled by another process (or about to be): wake it wherever it is leased.
            await self.engine.store.notify_wake(job.id)
            woken = True
        elif not woken:
            # A job we do not poll: a submission that crashed or was not confirmed, which
            # the API now names, or an ended paid job that may have finished after all.
            # The body is only a hint: one free TaskInfo decides.
            if await self.engine.service.jobs.on_callback(job, hint):
                woken = self.engine.scheduler.wake(job.id) or True
        log.info("job %d: callback received%s", job.id, "" if woken else " (not tracked)")
        return _closing(web.json_response({"ok": True}))

    async def health(self) -> dict[str, bool | str]:
        """Each check True when well. While polling is paused, "polling" says until when and why,
        and the bot is not healthy: results are not being fetched (a pause is capped at 10 min)."""
        scheduler = self.engine.scheduler
        last = scheduler.last_pass_at
        checks: dict[str, bool | str] = {
            "gateway": self.gateway_ok(),
            "database": await self._database_ok(),
            "scheduler": scheduler.alive and last is not None
            and self.engine.clock() - last < SCHEDULER_STALE_S,
        }
        paused = scheduler.pause.detail()
        if paused is not None:
            checks["polling"] = paused
        return checks

    async def _database_ok(self) -> bool:
        try:
            return await self.engine.store.ping()
        except Exception:
            log.warning("health check: the database did not answer", exc_info=True)
            return False

    async def _health(self, request: web.Request) -> web.Response:
        checks = await self.health()
        status = 200 if all(value is True for value in checks.values()) else 503
        return web.json_response({"ok": status == 200, **checks, **self.facts()}, status=status)

    def facts(self) -> dict[str, object]:
        """Who answers, beside the checks: several processes may share one database."""
        return {
            "process": self.engine.metrics.process,
            "shards": sorted(self.shards()),
            "leases": self.engine.scheduler.leases_held,
        }

    async def _metrics(self, request: web.Request) -> web.Response:
        scheduler = self.engine.scheduler
        body = await self.engine.metrics.render(
            self.engine.store, lambda: scheduler.queue_size, lambda: scheduler.leases_held,
            lambda: scheduler.shared.share if scheduler.shared else 1.0,
        )
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _task_id_hint(body: bytes) -> object:
    """The separation id a callback body claims, if any; never trusted, only checked."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    for holder in (data, data.get("data") if isinstance(data, dict) else None):
        if isinstance(holder, dict):
            for key in ("task_id", "taskId"):
                if key in holder:
                    return holder[key]
    return None


def _closing(response: web.Response) -> web.Response:
    """Callbacks are rare: no kept-alive connection that could hold up our shutdown."""
    response.force_close()
    return response
