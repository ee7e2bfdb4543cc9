"""The survival campaigns' sandbox: counts faults and TaskInfo times, can slow CreateTask down."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox import Fault, Sandbox

CREATE_PATH = "/api/v1/client/job/CreateTask"
TASK_INFO_PATH = "/api/v1/client/job/TaskInfo"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WatchedSandbox(Sandbox):
    """A Sandbox that remembers when each TaskInfo arrived and which faults it answered with.

    `create_delay_s` > 0 holds each CreateTask a random time before and after the API acts on it,
    so a crash can land while a job is "submitting", both before and after it was charged.
    """

    def __init__(self, *, create_delay_s: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.create_delay_s = create_delay_s
        self.task_info_at: list[tuple[float, str]] = []  # (sandbox clock, task_id)
        self.retry_after: list[tuple[float, str, float]] = []  # (clock, task_id, seconds)
        self.resets: list[tuple[float, str]] = []  # TaskInfo connections the sandbox cut
        self.faults_sent: Counter[str] = Counter()
        self._delay_rng = random.Random(kwargs.get("seed", 0) + 1)

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._watch)
        return app

    @web.middleware
    async def _watch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == TASK_INFO_PATH:
            self.task_info_at.append((self.clock(), request.query.get("task_id", "")))
        if request.path != CREATE_PATH or self.create_delay_s <= 0:
            response = await handler(request)
            if request.path == TASK_INFO_PATH:
                self._after_task_info(request, response)
            return response
        await asyncio.sleep(self._delay_rng.uniform(0, self.create_delay_s))
        response = await handler(request)
        await asyncio.sleep(self._delay_rng.uniform(0, self.create_delay_s))
        return response

    def _after_task_info(self, request: web.Request, response: web.StreamResponse) -> None:
        at, task_id = self.clock(), request.query.get("task_id", "")
        if "Retry-After" in response.headers:
            self.retry_after.append((at, task_id, float(response.headers["Retry-After"])))
        if request.transport is None or request.transport.is_closing():
            self.resets.append((at, task_id))

    def chosen_task_info(self, prefix: str = "") -> list[float]:
        """TaskInfo times the client chose to send: a resend after a cut connection left out.

        aiohttp silently resends an idempotent request whose kept-alive connection was reset;
        with the fake clock that resend arrives at the same instant for the same task.
        """
        seen: Counter[tuple[float, str]] = Counter()
        cut = Counter(self.resets)
        chosen = []
        for at, task_id in self.task_info_at:
            if not task_id.startswith(prefix):
                continue
            seen[(at, task_id)] += 1
            if seen[(at, task_id)] == 1 or seen[(at, task_id)] > 1 + cut[(at, task_id)]:
                chosen.append(at)
        return chosen

    def _next_fault(self, name: str) -> Fault | None:
        fault = super()._next_fault(name)
        if fault is not None:
            self.faults_sent[_fault_label(fault)] += 1
        return fault


def _fault_label(fault: Fault) -> str:
    if fault.kind != "code":
        return fault.kind
    return f"{fault.code}" if fault.http_status is None else f"{fault.code}@{fault.http_status}"


def worst_window(times: list[float], window_s: float = 1.0) -> int:
    """The most calls seen in any window (t - window_s, t], as the request rate counts them."""
    ordered = sorted(times)
    worst = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window_s:
            start += 1
        worst = max(worst, end - start + 1)
    return worst
