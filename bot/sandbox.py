"""A loopback imitation of the crun API, with scriptable faults, for demos, tests and benchmarks."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.jobs import Mode, RemoteState
from bot.sandbox_data import (
    CREDITS,
    DEFAULT_MODEL,
    DEMO_AFTER_CODES,
    DEMO_ERROR_CODES,
    DEMO_ERROR_PREFIX,
    DURATION_S,
    FAILED,
    FAKE_AUDIO,
    MUSIC_MODEL,
    SEED_MUSIC_TASKS,
    URL_LIFETIME_S,
    Fault,
    Refusal,
    SandboxMusicTask,
    SandboxSeparation,
    apply_fault,
    endpoint_name,
    error_reply,
    json_body,
    proxy_page,
    reply,
    stem_paths,
    validate_create,
)
from bot.sandbox_dialects import (
    DIALECTS,
    Dialect,
    dialect_named,
    music_task_data,
    separation_data,
)

__all__ = [
    "DIALECTS",
    "Dialect",
    "Fault",
    "Sandbox",
    "SandboxMusicTask",
    "SandboxSeparation",
    "SandboxServer",
    "run_forever",
    "serve",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
TICK_S = 0.05

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Sandbox:
    """The API's state and rules, driven by HTTP and poked directly by tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        duration_s: Callable[[Mode], float] | None = None,
        api_key: str | None = None,
        balance: float = 1000.0,
        seed: int = 0,
        model: str = DEFAULT_MODEL,
        dialect: str | Dialect = "snake",
    ) -> None:
        self.clock = clock
        self.duration_s = duration_s or DURATION_S.__getitem__
        self.api_key = api_key  # None: any non-empty key is accepted
        self.balance = balance
        self.model = model
        self.use_dialect(dialect)
        self.calls: Counter[str] = Counter()
        self.create_requests: list[dict[str, Any]] = []
        self.separations: dict[str, SandboxSeparation] = {}
        self.music_tasks: dict[str, SandboxMusicTask] = {}
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._fault_rates: dict[str, tuple[float, tuple[Fault, ...]]] = {}
        self._rng = random.Random(seed)
        self._http: aiohttp.ClientSession | None = None
        self._callbacks: set[asyncio.Task[None]] = set()
        for music_task_id, status, songs in SEED_MUSIC_TASKS:
            self.add_music_task(music_task_id, list(songs), status=status)
        for code in sorted(DEMO_ERROR_CODES | DEMO_AFTER_CODES):  # CreateTask answers `code`
            self.add_music_task(f"{DEMO_ERROR_PREFIX}{code}", [("demo-song-1", f"Error {code}")])

    def use_dialect(self, dialect: str | Dialect) -> None:
        """Word every answer from now on in `dialect` (a name from DIALECTS, or your own)."""
        self.dialect = dialect_named(dialect)
        self.status_word = self.dialect.word(RemoteState.SUCCEEDED)
        self.running_word = self.dialect.word(RemoteState.RUNNING)
        self.failed_word = self.dialect.word(RemoteState.FAILED)

    def add_music_task(
        self,
        music_task_id: str,
        songs: list[tuple[str, str]],
        *,
        status: str = "success",
        model: str = MUSIC_MODEL,
    ) -> None:
        self.music_tasks[music_task_id] = SandboxMusicTask(
            music_task_id, list(songs), status, model, self.clock()
        )

    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Queue faults for an endpoint (or "*"), consumed one per request, in order."""
        self._faults[endpoint_name(endpoint)].extend(faults)

    def set_fault_rate(self, endpoint: str, rate: float, faults: Sequence[Fault]) -> None:
        """Answer a share `rate` of requests with a fault drawn from `faults` (seeded RNG)."""
        if rate > 0 and not faults:
            raise ValueError("a fault rate needs at least one fault")
        self._fault_rates[endpoint_name(endpoint)] = (rate, tuple(faults))

    def finish(self, remote_id: str, *, success: bool = True, message: str = FAILED) -> None:
        """End a running separation now; a finished one is left as it is."""
        self._end(self.separations[remote_id], success, message, self.clock())

    def due(self) -> list[str]:
        """Finish (successfully) every running separation whose time has come."""
        now = self.clock()
        ready = [
            sep
            for sep in self.separations.values()
            if sep.state is RemoteState.RUNNING and sep.finish_at <= now
        ]
        for sep in ready:
            self._end(sep, True, "", sep.finish_at)
        return [sep.remote_id for sep in ready]

    def _end(self, sep: SandboxSeparation, success: bool, message: str, at: float) -> None:
        if sep.state is not RemoteState.RUNNING:
            return
        sep.finished_at = at
        if success:
            sep.state = RemoteState.SUCCEEDED
            sep.stems = stem_paths(sep.remote_id, sep.mode, int(at + URL_LIFETIME_S))
        else:
            sep.state, sep.message = RemoteState.FAILED, message
        log.debug("sandbox separation %s -> %s", sep.remote_id, sep.state)
        if sep.callback_url:
            self._send_callback(sep.callback_url, sep.remote_id, self._status(sep))

    def _status(self, sep: SandboxSeparation) -> str:
        if sep.state is RemoteState.RUNNING:
            return self.running_word
        return self.status_word if sep.state is RemoteState.SUCCEEDED else self.failed_word

    # -- callbacks: fire and forget, like the real thing (no retries, no signature)

    def _send_callback(self, url: str, remote_id: str, status: str) -> None:
        if self._http is None:
            log.debug("sandbox not serving; callback for %s skipped", remote_id)
            return
        task = asyncio.get_running_loop().create_task(
            self._post_callback(self._http, url, {"task_id": remote_id, "status": status})
        )
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _post_callback(
        self, http: aiohttp.ClientSession, url: str, body: dict[str, str]
    ) -> None:
        try:
            async with http.post(url, json=body) as resp:
                log.debug("sandbox callback %s -> HTTP %s", url, resp.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("sandbox callback to %s failed: %s", url, exc)

    def _attach(self, http: aiohttp.ClientSession | None) -> None:
        self._http = http

    async def _drop_callbacks(self) -> None:
        for task in list(self._callbacks):
            task.cancel()
        await asyncio.gather(*self._callbacks, return_exceptions=True)

    # -- HTTP

    def app(self) -> web.Application:
        app = web.Application()
        api = "/api/v1/client"
        app.router.add_post(f"{api}/job/CreateTask", self._endpoint("CreateTask", self._create))
        app.router.add_get(f"{api}/job/TaskInfo", self._endpoint("TaskInfo", self._task_info))
        app.router.add_get(f"{api}/account/balance", self._endpoint("balance", self._balance))
        estimate = self._endpoint("estimate-credits", self._estimate)
        app.router.add_post(f"{api}/job/estimate-credits", estimate)
        app.router.add_get("/files/{owner}/{name}", self._file)
        app.router.add_get("/_sandbox/stats", self._stats)
        app.router.add_post("/_sandbox/finish/{remote_id}", self._finish)
        return app

    def _endpoint(self, name: str, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.calls[name] += 1
            fault = self._next_fault(name)
            if fault is not None and fault.kind != "after":
                faulted = await apply_fault(fault, request)
                if faulted is not None:
                    return faulted
            try:
                answer = await handler(request)
            except Refusal as exc:
                answer = reply(exc.code, exc.message, retry_after_s=exc.retry_after_s)
            # "after": the call was handled (and charged) all the same; the answer is lost.
            return answer if fault is None or fault.kind != "after" else error_reply(fault)

        return wrapped

    def _next_fault(self, name: str) -> Fault | None:
        for key in (name, "*"):
            if self._faults[key]:
                return self._faults[key].popleft()
        for key in (name, "*"):
            rate, faults = self._fault_rates.get(key, (0.0, ()))
            if faults and self._rng.random() < rate:
                return self._rng.choice(faults)
        return None

    def _check_key(self, request: web.Request) -> None:
        key = request.headers.get("x-api-key", "")
        if not key or (self.api_key is not None and key != self.api_key):
            raise Refusal(401)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        self.create_requests.append(body)
        self._check_key(request)
        music_task_id, song_id, mode = validate_create(body, self.music_tasks, self.model)
        credits = CREDITS[mode]
        if self.balance < credits:
            raise Refusal(402)
        self.balance -= credits
        now = self.clock()
        remote_id = f"sep-{secrets.token_hex(12)}"
        callback = body.get("callback_url")
        self.separations[remote_id] = SandboxSeparation(
            remote_id, music_task_id, song_id, mode, now, now + self.duration_s(mode),
            callback if isinstance(callback, str) else None, credits,
        )  # fmt: skip
        if music_task_id.removeprefix(DEMO_ERROR_PREFIX) in {str(c) for c in DEMO_AFTER_CODES}:
            return proxy_page(int(music_task_id.removeprefix(DEMO_ERROR_PREFIX)))
        return reply(200, "success", {"task_id": remote_id})

    async def _task_info(self, request: web.Request) -> web.StreamResponse:
        self._check_key(request)
        task_id = request.query.get("task_id", "")
        if not task_id:
            raise Refusal(422, "task_id is required")
        self.due()
        origin = str(request.url.origin())
        if (sep := self.separations.get(task_id)) is not None:
            data = separation_data(sep, self._status(sep), self.model, origin, self.dialect)
        elif (task := self.music_tasks.get(task_id)) is not None:
            data = music_task_data(task, origin, self.dialect)
        else:
            raise Refusal(404)
        return reply(200, "success", data)

    async def _balance(self, request: web.Request) -> web.StreamResponse:
        self._check_key(request)
        return reply(200, "success", {"balance": self.balance})

    async def _estimate(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        self._check_key(request)
        _, _, mode = validate_create(body, self.music_tasks, self.model)
        return reply(200, "success", {"credits": CREDITS[mode]})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        owner = request.match_info["owner"]
        if owner not in self.separations and owner not in self.music_tasks:
            raise web.HTTPNotFound()
        return web.Response(body=FAKE_AUDIO, content_type="audio/mpeg")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"calls": dict(self.calls), "creates": len(self.create_requests)})

    async def _finish(self, request: web.Request) -> web.StreamResponse:
        remote_id = request.match_info["remote_id"]
        if remote_id not in self.separations:
            return reply(404, "task not found")
        body = await json_body(request)
        message = body.get("message")
        self.finish(
            remote_id,
            success=body.get("success", True) is not False,
            message=message if isinstance(message, str) else FAILED,
        )
        return reply(200, "success", {"task_id": remote_id})


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
