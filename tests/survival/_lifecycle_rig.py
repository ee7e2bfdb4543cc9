"""The lifecycle machine's world: a scripted API, a scripted Discord, a store that fails on cue."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiosqlite
from aiohttp import web
from aiosqlite.context import Result

from bot.delivery import Delivered
from bot.jobs import Delivery, Job, Subscription
from bot.sandbox import Sandbox
from bot.store import JobStore
from tests._sandbox_fixtures import FakeClock

CREATE_PATH = "/api/v1/client/job/CreateTask"
TASK_INFO_PATH = "/api/v1/client/job/TaskInfo"
ENDPOINT = {CREATE_PATH: "CreateTask", TASK_INFO_PATH: "TaskInfo"}
HANG_S = 0.3  # longer than the engine's API timeout in this test: the client gives up first
NONCE_WINDOW_S = 5 * 60  # how long Discord remembers an enforced nonce (tests/standin)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Answer:
    """What the API does with one call instead of its normal reply.

    before: answers without acting on the call; after: acts on it (a CreateTask is performed and
    charged), then answers like this; "hang" and "reset" bodies hang or cut the connection.
    """

    label: str
    when: Literal["before", "after"]
    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class ScriptedSandbox(Sandbox):
    """The sandbox, plus scripted answers and a record of which job each CreateTask was for.

    Helper A adds a Fault for "act on the call, then fail"; until it is on main, the "after"
    answers here do it with a middleware that lets the call through and replaces the reply.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answers: dict[str, deque[Answer]] = {"CreateTask": deque(), "TaskInfo": deque()}
        self.database: Path | None = None
        self.create_for: list[int | None] = []  # the job each arriving CreateTask was sent for
        self.performed: dict[str, int | None] = {}  # remote id -> job, for each charged create
        self.scripted: Counter[str] = Counter()
        self.told: defaultdict[str, set[str]] = defaultdict(set)  # task id -> scripted answers

    def reset(self, database: Path, tasks: Iterable[tuple[str, list[tuple[str, str]]]]) -> None:
        """A fresh account for the next example (the server itself is shared)."""
        self.database = database
        self.calls.clear()
        self.create_requests.clear()
        self.separations.clear()
        self.music_tasks.clear()
        self._faults.clear()
        self._fault_rates.clear()
        self.balance = 1000.0
        for queue in self.answers.values():
            queue.clear()
        self.create_for.clear()
        self.performed.clear()
        self.scripted.clear()
        self.told.clear()
        for music_task_id, songs in tasks:
            self.add_music_task(music_task_id, songs)

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._script)
        return app

    @web.middleware
    async def _script(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        name = ENDPOINT.get(request.path)
        if name is None:
            return await handler(request)
        job_id = None
        if name == "CreateTask":  # every call that arrives counts, whatever it is answered
            job_id = await self._submitting_job(request)
            self.create_for.append(job_id)
        answer = self.answers[name].popleft() if self.answers[name] else None
        if answer is not None:
            self.scripted[answer.label] += 1
            self.told[request.query.get("task_id", "")].add(answer.label)
        if answer is not None and answer.when == "before":
            return await self._answer(request, answer)
        before = set(self.separations)
        response = await handler(request)
        for remote_id in set(self.separations) - before:
            self.performed[remote_id] = job_id
        return response if answer is None else await self._answer(request, answer)

    async def _submitting_job(self, request: web.Request) -> int | None:
        """The job in `submitting` for this song, read from the file (committed rows only)."""
        body = await request.json()
        payload = body.get("input", {}) if isinstance(body, dict) else {}
        assert self.database is not None
        found = db_rows(
            self.database,
            "SELECT id FROM jobs WHERE music_task_id = ? AND song_id = ? AND mode = ?"
            " AND state = 'submitting'",
            (payload.get("task_id"), payload.get("suno_id"), payload.get("mode")),
        )
        return int(found[0][0]) if found else None

    async def _answer(self, request: web.Request, answer: Answer) -> web.StreamResponse:
        if answer.body == "hang":
            await asyncio.sleep(HANG_S)
        if answer.body in ("hang", "reset"):
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        body = answer.body.replace("{task_id}", request.query.get("task_id", ""))
        return web.Response(status=answer.status, text=body, content_type=answer.content_type,
                            headers=dict(answer.headers))


@dataclass
class Post:
    """One message members can see: the result or failure of `job_id`, for these subscriptions."""

    message_id: int
    job_id: int
    sub_ids: frozenset[int]
    at: float


@dataclass
class ScriptedDiscord:
    """The deliverer, answering as cogs/stems/_poster.py does for each answer Discord can give.

    The machine runs at the engine level, so the real ResultPoster (it needs a discord.py client)
    is replaced by this script of it: 2xx posts (one message per channel, its nonce the job and
    channel as the cog makes it, deduplicated by Discord for five minutes); 403/404 fall back to
    a DM (whose answer is the next code); 400, 429 and 5xx leave the delivery pending for a
    retry; "crash" makes the deliverer raise.
    """

    clock: FakeClock
    answers: deque[int | str] = field(default_factory=deque)
    posts: list[Post] = field(default_factory=list)
    seen: Counter[int] = field(default_factory=Counter)  # visible messages per subscription
    _nonces: dict[str, Post] = field(default_factory=dict)

    def reset(self) -> None:
        self.answers.clear()
        self.posts.clear()
        self.seen.clear()
        self._nonces.clear()

    def _next(self) -> int | str:
        return self.answers.popleft() if self.answers else 200

    async def __call__(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        if self.answers and self.answers[0] == "crash":
            self.answers.popleft()
            raise ConnectionError("discord is unreachable")
        by_channel: dict[int | None, list[Subscription]] = {}
        for sub in subs:
            by_channel.setdefault(sub.channel_id, []).append(sub)
        results: dict[int, Delivered] = {}
        for channel_id, group in by_channel.items():
            code = self._next()
            if code in (403, 404) or channel_id is None:
                results.update({s.id: self._dm(job, s) for s in group})
            elif isinstance(code, int) and 200 <= code < 300:
                post = self._post(job, f"{channel_id}:0", group)
                results.update({s.id: Delivered(Delivery.CHANNEL, message_id=post.message_id)
                                for s in group})
            else:
                results.update({s.id: Delivered(Delivery.PENDING, f"channel {code}")
                                for s in group})
        return results

    def _dm(self, job: Job, sub: Subscription) -> Delivered:
        code = self._next()
        if isinstance(code, int) and 200 <= code < 300 and sub.user_id is not None:
            post = self._post(job, f"dm{sub.user_id}", [sub])
            return Delivered(Delivery.DM, "channel refused", message_id=post.message_id)
        if code in (403, 404) or sub.user_id is None:
            return Delivered(Delivery.UNDELIVERABLE, f"channel and DM refused: {code}")
        return Delivered(Delivery.PENDING, f"DM {code}")

    def _post(self, job: Job, target: str, group: Sequence[Subscription]) -> Post:
        nonce, now = f"{job.id}:{target}", self.clock()
        earlier = self._nonces.get(nonce)
        if earlier is not None and now - earlier.at <= NONCE_WINDOW_S:
            return earlier  # Discord answers with the message it already made: nothing new shown
        post = Post(len(self.posts) + 1, job.id, frozenset(s.id for s in group), now)
        self.posts.append(post)
        self._nonces[nonce] = post
        self.seen.update(post.sub_ids)
        return post


class StoreFaults:
    """Makes the Nth statement from now on the store's connections (writer and readers) raise,
    once.

    A failed COMMIT is modelled as SQLite reports an I/O error on commit: the transaction is
    rolled back, then the error is raised.
    """

    def __init__(self) -> None:
        self.countdown: int | None = None
        self.fired = 0

    def install(self, store: JobStore) -> None:
        for db in (store._db._db, *store._db._readers):  # the connections the store owns
            self._patch(db)

    def _patch(self, db: aiosqlite.Connection) -> None:
        original = db.execute

        async def execute(sql: str, parameters: Iterable[Any] | None = None) -> aiosqlite.Cursor:
            if self.countdown is not None:
                self.countdown -= 1
                if self.countdown <= 0:
                    self.countdown = None
                    self.fired += 1
                    if sql.strip().upper() == "COMMIT":
                        await original("ROLLBACK")
                    raise sqlite3.OperationalError(f"injected failure at: {sql[:40]}")
            return await original(sql, parameters)

        db.execute = lambda sql, parameters=None: Result(execute(sql, parameters))  # type: ignore[method-assign]

        async def fetchall(sql: str, parameters: Iterable[Any] | None = None) -> Any:
            cursor = await execute(sql, parameters)  # faulted as one statement
            try:
                return await cursor.fetchall()
            finally:
                await cursor.close()

        db.execute_fetchall = lambda sql, parameters=None: Result(fetchall(sql, parameters))  # type: ignore[method-assign]

    def arm(self, statements: int) -> None:
        self.countdown = statements

    def disarm(self) -> None:
        self.countdown = None


def db_rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Read committed rows with a connection of our own (it never meets an injected fault)."""
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        return list(db.execute(sql, tuple(params)).fetchall())
    finally:
        db.close()
