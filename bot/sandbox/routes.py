"""The sandbox's HTTP face: Sandbox is SandboxState answering the crun routes over aiohttp."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.sandbox.answers import Refusal, apply_fault, error_reply, json_body, proxy_page, reply
from bot.sandbox.dialects import music_task_data, separation_data
from bot.sandbox.records import SandboxSeparation
from bot.sandbox.seed import CREDITS, DEMO_AFTER_CODES, DEMO_ERROR_PREFIX, FAILED, FAKE_AUDIO
from bot.sandbox.state import SandboxState, validate_create

API = "/api/v1/client"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Sandbox(SandboxState):
    """The API's state and rules, driven by HTTP and poked directly by tests."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"{API}/job/CreateTask", self._endpoint("CreateTask", self._create))
        app.router.add_get(f"{API}/job/TaskInfo", self._endpoint("TaskInfo", self._task_info))
        app.router.add_get(f"{API}/account/balance", self._endpoint("balance", self._balance))
        estimate = self._endpoint("estimate-credits", self._estimate)
        app.router.add_post(f"{API}/job/estimate-credits", estimate)
        app.router.add_get("/files/{owner}/{name}", self._file)
        app.router.add_get("/_sandbox/stats", self._stats)
        app.router.add_post("/_sandbox/finish/{remote_id}", self._finish)
        return app

    def _endpoint(self, name: str, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.calls[name] += 1
            self.request_log.append((self.clock(), name))
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
