"""The crun.ai client: one coroutine per remote call, typed ApiError, no retry policy."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp

from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Mode, RemoteState, Stem, parse_remote_state, stem_label, stem_sort_key

log = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/client/job/CreateTask"
TASK_INFO_PATH = "/api/v1/client/job/TaskInfo"
BALANCE_PATH = "/api/v1/client/account/balance"
ESTIMATE_PATH = "/api/v1/client/job/estimate-credits"

NO_STEMS = "no stems returned"
UNTITLED = "Untitled"


@dataclass(frozen=True)
class Song:
    """One song inside a Suno music task."""

    song_id: str
    title: str
    duration_s: float | None
    audio_url: str | None
    image_url: str | None


@dataclass(frozen=True)
class MusicTask:
    """The user's Suno music task, as TaskInfo shows it."""

    music_task_id: str
    state: RemoteState
    raw_status: str
    provider: str | None
    model: str | None
    songs: tuple[Song, ...]

    def song(self, song_id: str) -> Song | None:
        return next((s for s in self.songs if s.song_id == song_id), None)


@dataclass(frozen=True)
class Separation:
    """A separation task, as TaskInfo shows it. A success without stems reads as FAILED."""

    remote_id: str
    state: RemoteState
    raw_status: str
    stems: tuple[Stem, ...]
    error: str | None
    credits: float | None
    completed_at: datetime | None


class _Envelope(NamedTuple):
    """The documented reply body: {code, message, data}."""

    code: int
    message: str
    data: object
    retry_after_s: float | None  # not documented, but cheap to honour if it shows up


class _NotEnvelope(ApiError):
    """An error reply whose body is not the API's envelope (a proxy page, a bare 404)."""


class StemApi:
    """Talks to crun.ai over an injected session. Every failure is an ApiError; nothing retries."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 15.0,
        on_call: Callable[[str, int], None] | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._model = model
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._on_call = on_call

    def __repr__(self) -> str:
        return f"StemApi(base_url={self._base_url!r}, model={self._model!r})"

    async def create_separation(
        self, music_task_id: str, song_id: str, mode: Mode, *, callback_url: str | None = None
    ) -> str:
        """Send one CreateTask (charged!) and return the separation's remote_id."""
        body: dict[str, object] = {
            "model": self._model,
            "input": _wire_input(music_task_id, song_id, mode),
        }
        if callback_url is not None:
            body["callback_url"] = callback_url
        reply = await self._call("CreateTask", "POST", CREATE_PATH, payload=body)
        remote_id = _field(reply.data, "task_id")
        if not isinstance(remote_id, str) or not remote_id:
            raise ApiError(BAD_REPLY, "CreateTask reply has no task_id")
        return remote_id

    async def separation(self, remote_id: str) -> Separation:
        reply = await self._call("TaskInfo", "GET", TASK_INFO_PATH, params={"task_id": remote_id})
        return _separation(remote_id, reply)

    async def music_task(self, music_task_id: str) -> MusicTask:
        params = {"task_id": music_task_id}
        reply = await self._call("TaskInfo", "GET", TASK_INFO_PATH, params=params)
        return _music_task(music_task_id, reply.data)

    async def balance(self) -> float:
        reply = await self._call("balance", "GET", BALANCE_PATH)
        return _required_number(reply.data, "balance")

    async def estimate_credits(self, music_task_id: str, song_id: str, mode: Mode) -> float | None:
        """The charge for a separation, or None where the (unconfirmed) endpoint does not exist."""
        body = {"model": self._model, "input": _wire_input(music_task_id, song_id, mode)}
        try:
            reply = await self._call("estimate-credits", "POST", ESTIMATE_PATH, payload=body)
        except _NotEnvelope as exc:
            if exc.http_status in (404, 405):
                return None
            raise
        return _required_number(reply.data, "credits")

    async def _call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: object = None,
    ) -> _Envelope:
        try:
            reply = await self._send(method, path, params, payload)
        except ApiError as exc:
            log.debug("crun %s failed: code %s", endpoint, exc.code)
            self._report(endpoint, exc.code)
            raise
        self._report(endpoint, 200)
        return reply

    async def _send(
        self, method: str, path: str, params: Mapping[str, str] | None, payload: object
    ) -> _Envelope:
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=payload,
                headers={"x-api-key": self._api_key},
                timeout=self._timeout,
            ) as resp:
                # The body decides success, so read it before looking at anything else.
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except TimeoutError:
            text = f"{method} {path}: no reply within {self._timeout.total} s"
            raise ApiError(NO_REPLY, text) from None
        except aiohttp.ClientError as exc:
            # `from None`: the chained exception's text is not ours to vouch for (no key in it).
            text = self._scrub(f"{method} {path}: {type(exc).__name__}: {exc}")
            raise ApiError(NO_REPLY, text) from None
        return self._unwrap(status, headers, raw)

    def _unwrap(self, status: int, headers: Mapping[str, str], raw: bytes) -> _Envelope:
        envelope = _envelope(raw)
        ok_http = 200 <= status < 300
        if envelope is None:
            if ok_http:
                raise ApiError(BAD_REPLY, f"HTTP {status}: not a JSON envelope", http_status=status)
            retry = _retry_after(headers, None)
            text = self._scrub(f"HTTP {status}: {_snippet(raw)}")
            raise _NotEnvelope(status, text, retry_after_s=retry, http_status=status)
        if ok_http and envelope.code == 200:
            return envelope
        retry = _retry_after(headers, envelope)
        code = envelope.code if envelope.code != 200 else status
        text = self._scrub(envelope.message or f"HTTP {status}")
        raise ApiError(code, text, retry_after_s=retry, http_status=status)

    def _scrub(self, text: str) -> str:
        # Servers echo odd things back. Tiny keys are test keys, and scrubbing them mangles text.
        return text.replace(self._api_key, "***") if len(self._api_key) >= 8 else text

    def _report(self, endpoint: str, code: int) -> None:
        if self._on_call is not None:
            self._on_call(endpoint, code)


def _wire_input(music_task_id: str, song_id: str, mode: Mode) -> dict[str, str]:
    return {"task_id": music_task_id, "suno_id": song_id, "mode": mode.value}


def _envelope(raw: bytes) -> _Envelope | None:
    """The body as the documented envelope, or None when it is something else."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    message, data = body.get("message"), body.get("data")
    retry = _number(body.get("retry_after"))
    retry = retry if retry is not None else _number(_field(data, "retry_after"))
    return _Envelope(code, message if isinstance(message, str) else "", data, retry)


def _retry_after(headers: Mapping[str, str], envelope: _Envelope | None) -> float | None:
    header = headers.get("Retry-After")
    seconds = _parse_retry_after(header) if header is not None else None
    if seconds is None and envelope is not None:
        return envelope.retry_after_s
    return seconds


def _parse_retry_after(value: str) -> float | None:
    """Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    seconds = _number(value.strip())
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text[:limit] if text else "(empty body)"


def _field(data: object, name: str) -> object:
    return data.get(name) if isinstance(data, dict) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _required_number(data: object, name: str) -> float:
    value = _number(_field(data, name))
    if value is None:
        raise ApiError(BAD_REPLY, f"reply has no numeric {name}")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _task_data(data: object) -> tuple[dict[str, Any], str, RemoteState]:
    if not isinstance(data, dict):
        raise ApiError(BAD_REPLY, "TaskInfo reply has no data object")
    raw_status = data.get("status")
    raw_text = raw_status if isinstance(raw_status, str) else ""
    return data, raw_text, parse_remote_state(raw_status)


def _separation(remote_id: str, reply: _Envelope) -> Separation:
    data, raw_status, state = _task_data(reply.data)
    result = data.get("result")
    stems: tuple[Stem, ...] = ()
    error = None
    if state is RemoteState.SUCCEEDED:
        stems = parse_stems(_field(result, "media_info"))
        if not stems:
            state, error = RemoteState.FAILED, NO_STEMS
    elif state is RemoteState.FAILED:
        fallback = reply.message if reply.message.lower() not in ("", "success") else None
        error = _text(_field(result, "message")) or fallback or "separation failed"
    return Separation(
        remote_id=_text(data.get("task_id")) or remote_id,
        state=state,
        raw_status=raw_status,
        stems=stems,
        error=error,
        credits=_number(data.get("credits")),
        completed_at=_timestamp(data.get("complete_at")),
    )


def _timestamp(value: object) -> datetime | None:
    seconds = _number(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _music_task(music_task_id: str, reply_data: object) -> MusicTask:
    data, raw_status, state = _task_data(reply_data)
    items = _field(data.get("result"), "suno_data")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ApiError(BAD_REPLY, "TaskInfo result.suno_data is not a list")
    return MusicTask(
        music_task_id=_text(data.get("task_id")) or music_task_id,
        state=state,
        raw_status=raw_status,
        provider=_text(data.get("provider")),
        model=_text(_field(data.get("param"), "model")),
        songs=tuple(song for item in items if (song := _song(item)) is not None),
    )


def _song(item: object) -> Song | None:
    song_id = _text(_field(item, "suno_id"))
    if song_id is None:
        log.warning("ignoring a suno_data item without a suno_id")
        return None
    return Song(
        song_id=song_id,
        title=(_text(_field(item, "title")) or "").strip() or UNTITLED,
        duration_s=_number(_field(item, "duration")),
        audio_url=_text(_field(item, "suno_audio_url")),
        image_url=_text(_field(item, "suno_image_url")),
    )


def parse_stems(media_info: object) -> tuple[Stem, ...]:
    """Every stem URL in `media_info`, whatever its keys, in a musician's order, no repeats."""
    if not isinstance(media_info, dict):
        return ()
    found = []
    for key, value in media_info.items():
        url = _stem_url(value)
        if isinstance(key, str) and url is not None:
            found.append(Stem(key=key, label=stem_label(key), url=url))
    seen: set[str] = set()
    stems = []
    for stem in sorted(found, key=stem_sort_key):
        if stem.url not in seen:
            seen.add(stem.url)
            stems.append(stem)
    return tuple(stems)


def _stem_url(value: object) -> str | None:
    if isinstance(value, dict):
        return _http_url(value.get("url")) or _http_url(value.get("audio_url"))
    return _http_url(value)


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
