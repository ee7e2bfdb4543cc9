"""The sandbox's data and wire layer: records, seed data, faults, CreateTask rules, replies."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from bot.jobs import Mode, RemoteState, parse_remote_state

DEFAULT_MODEL = "suno/vocal-separatio"
MUSIC_MODEL = "suno/music-generate"
CREDITS = {Mode.VOCAL: 1.0, Mode.INSTRUMENTAL: 5.0}
DURATION_S = {Mode.VOCAL: 3.0, Mode.INSTRUMENTAL: 5.0}
URL_LIFETIME_S = 14 * 24 * 3600  # peer services keep result links for 14 days

VOCAL_KEYS = ("vocal_url", "instrumental_url")
INSTRUMENTAL_KEYS = (
    "vocal_url",
    "backing_vocals_url",
    "drums_url",
    "bass_url",
    "guitar_url",
    "keyboard_url",
    "strings_url",
    "brass_url",
    "woodwinds_url",
    "percussion_url",
    "synth_url",
    "fx_url",
)
NESTED_KEY = "synth_url"  # served as {"url": ...}: clients must not assume flat strings

# CreateTask on music task "demo-error-<code>" answers with that code, for demos of every reply.
DEMO_ERROR_PREFIX = "demo-error-"
DEMO_ERROR_CODES = frozenset({401, 402, 404, 422, 429, 455, 500, 501, 505})
DEMO_RETRY_AFTER_S = 2.0
# CreateTask on "demo-error-<code>" for these codes creates and charges the separation, then
# answers with a proxy's HTML page: the answer proves nothing about money (issue 9, case 1).
DEMO_AFTER_CODES = frozenset({502})

MESSAGES = {
    401: "invalid api key",
    402: "insufficient credits",
    404: "task not found",
    422: "validation failed",
    429: "too many requests",
    455: "service under maintenance",
    500: "internal server error",
    501: "generation failed",
    505: "feature disabled",
}

# (music_task_id, status, ((song_id, title), ...)). Real ids are uuids, hence the last one.
SEED_MUSIC_TASKS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "demo-music-task",
        "success",
        (("demo-song-1", "Midnight Addiction"), ("demo-song-2", "Midnight Addiction (alt take)")),
    ),
    ("demo-pending-task", "running", (("demo-pending-song", "Half-Written Chorus"),)),
    ("demo-failed-task", "failed", (("demo-failed-song", "Lost Signal"),)),
    (
        "4f1b0c2e-7d3a-4b9e-a1c5-6e2f8d0b3a97",
        "success",
        (("b7e3c9a1-5d2f-4a6e-8b0c-3f1e7d9a2c45", "Paper Lanterns"),),
    ),
)

ENDPOINTS = ("CreateTask", "TaskInfo", "balance", "estimate-credits")
FAILED = "separation failed"
MALFORMED_BODY = '{"code": 200, "data": '
PROXY_PAGE = (
    "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1>"
    "</center><hr><center>nginx</center></body></html>"
)
FAKE_AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8


@dataclass
class Fault:
    """One scripted misbehaviour. http_status None mirrors code; 200 gives "error in a 200".

    "after" handles the call first (CreateTask creates and charges), then answers with the
    error anyway, as a proxy that gave up late would. `html` sends a proxy's page, not an envelope.
    """

    kind: Literal["code", "timeout", "malformed", "reset", "after"]
    code: int = 500
    http_status: int | None = None
    retry_after_s: float | None = None
    message: str | None = None
    delay_s: float = 30.0  # how long a "timeout" hangs before answering normally
    html: bool = False


@dataclass
class SandboxMusicTask:
    music_task_id: str
    songs: list[tuple[str, str]]
    status: str
    model: str
    created_at: float

    @property
    def finished(self) -> bool:
        """Done, under any word that doesn't say pending, running or failed (a reseller's own)."""
        unfinished = (RemoteState.PENDING, RemoteState.RUNNING, RemoteState.FAILED)
        return parse_remote_state(self.status) not in unfinished


@dataclass
class SandboxSeparation:
    """One accepted CreateTask. `stems` maps media_info keys to paths under /files."""

    remote_id: str
    music_task_id: str
    song_id: str
    mode: Mode
    created_at: float
    finish_at: float
    callback_url: str | None
    credits: float
    state: RemoteState = RemoteState.RUNNING
    finished_at: float | None = None
    stems: dict[str, str] = field(default_factory=dict)
    message: str | None = None


class Refusal(Exception):
    """The reply the real API would give instead of doing the work."""

    def __init__(self, code: int, message: str | None = None, retry_after_s: float | None = None):
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, "error")
        self.retry_after_s = retry_after_s


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


def envelope(code: int, message: str, data: object = None) -> dict[str, object]:
    return {"code": code, "message": message, "data": data}


def reply(
    code: int,
    message: str,
    data: object = None,
    *,
    http_status: int | None = None,
    retry_after_s: float | None = None,
) -> web.Response:
    """An envelope reply; the HTTP status mirrors `code` unless told otherwise."""
    headers = {}
    if retry_after_s is not None:
        headers["Retry-After"] = f"{retry_after_s:g}"
    status = code if http_status is None else http_status
    return web.json_response(envelope(code, message, data), status=status, headers=headers)


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


async def json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.text()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"_unparsed": raw}


async def apply_fault(fault: Fault, request: web.Request) -> web.StreamResponse | None:
    """The fault's reply, or None to go on and answer normally (after a "timeout" delay)."""
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay_s)
        return None
    if fault.kind == "malformed":
        return web.Response(text=MALFORMED_BODY, content_type="application/json")
    if fault.kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response()  # never sent: the connection is already gone
    return error_reply(fault)


def error_reply(fault: Fault) -> web.Response:
    """The error a "code" or "after" fault answers with: an envelope, or a proxy's HTML page."""
    status = fault.code if fault.http_status is None else fault.http_status
    if fault.html:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        page = PROXY_PAGE.format(code=status, reason=reason)
        return web.Response(status=status, text=page, content_type="text/html")
    message = fault.message or MESSAGES.get(fault.code, "error")
    retry_after_s = fault.retry_after_s
    return reply(fault.code, message, http_status=fault.http_status, retry_after_s=retry_after_s)


def proxy_page(code: int) -> web.Response:
    return error_reply(Fault("after", code=code, html=True))
