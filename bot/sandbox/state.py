"""The sandbox's state and rules: music tasks, separations, balance, faults and callbacks."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from bot.jobs import Mode, RemoteState
from bot.sandbox.answers import Fault, Refusal
from bot.sandbox.dialects import Dialect, dialect_named
from bot.sandbox.records import SandboxMusicTask, SandboxSeparation
from bot.sandbox.seed import (
    DEFAULT_MODEL,
    DEMO_AFTER_CODES,
    DEMO_ERROR_CODES,
    DEMO_ERROR_PREFIX,
    DEMO_RETRY_AFTER_S,
    DURATION_S,
    ENDPOINTS,
    FAILED,
    INSTRUMENTAL_KEYS,
    MUSIC_MODEL,
    SEED_MUSIC_TASKS,
    URL_LIFETIME_S,
    VOCAL_KEYS,
)

log = logging.getLogger(__name__)


class SandboxState:
    """The API's state and rules, without HTTP: poked directly by tests, served by Sandbox."""

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
        self.request_log: list[tuple[float, str]] = []  # (clock, endpoint) of each request
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

    def _next_fault(self, name: str) -> Fault | None:
        for key in (name, "*"):
            if self._faults[key]:
                return self._faults[key].popleft()
        for key in (name, "*"):
            rate, faults = self._fault_rates.get(key, (0.0, ()))
            if faults and self._rng.random() < rate:
                return self._rng.choice(faults)
        return None

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


def endpoint_name(endpoint: str) -> str:
    if endpoint != "*" and endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS} or '*'")
    return endpoint


def validate_create(
    body: dict[str, Any], music_tasks: dict[str, SandboxMusicTask], model: str
) -> tuple[str, str, Mode]:
    """The checks the real API makes before charging, in the order it seems to make them."""
    payload = body.get("input")
    payload = payload if isinstance(payload, dict) else {}
    music_task_id, song_id = payload.get("task_id"), payload.get("suno_id")
    if isinstance(music_task_id, str) and music_task_id.startswith(DEMO_ERROR_PREFIX):
        _demo_error(music_task_id.removeprefix(DEMO_ERROR_PREFIX))
    if body.get("model") != model:
        raise Refusal(422, "model not supported")
    mode = payload.get("mode", Mode.VOCAL.value)
    if mode not in {m.value for m in Mode}:
        raise Refusal(422, "mode must be vocal or instrumental")
    task = music_tasks.get(music_task_id) if isinstance(music_task_id, str) else None
    if task is None:
        raise Refusal(422, "task_id not found")
    if not task.finished:
        raise Refusal(422, "task is not completed")
    if not isinstance(song_id, str) or all(song_id != known for known, _ in task.songs):
        raise Refusal(422, "suno_id not found in task")
    return task.music_task_id, song_id, Mode(mode)


def _demo_error(suffix: str) -> None:
    if suffix.isdigit() and int(suffix) in DEMO_ERROR_CODES:
        code = int(suffix)
        raise Refusal(code, retry_after_s=DEMO_RETRY_AFTER_S if code in (429, 455) else None)


def stem_paths(remote_id: str, mode: Mode, expires: int) -> dict[str, str]:
    """Long, signed-looking links, like the real ones (about 300 characters)."""
    keys = VOCAL_KEYS if mode is Mode.VOCAL else INSTRUMENTAL_KEYS
    paths = {}
    for key in keys:
        name = key.removesuffix("_url")
        digest = hashlib.sha256(f"{remote_id}/{name}/{expires}".encode()).hexdigest()
        signature = (digest * 4)[:240]
        paths[key] = f"/files/{remote_id}/{name}.mp3?Expires={expires}&Signature={signature}"
    return paths
