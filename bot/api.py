"""The crun.ai client: one coroutine per remote call, typed ApiError, no retry policy."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import aiohttp
from yarl import URL

from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Mode
from bot.replies import (
    MusicTask,
    Separation,
    Song,
    field_of,
    number,
    parse_music_task,
    parse_separation,
    parse_stems,
    required_number,
)

log = logging.getLogger(__name__)

__all__ = ["MusicTask", "Separation", "Song", "StemApi", "parse_stems"]

CREATE_PATH = "/api/v1/client/job/CreateTask"
TASK_INFO_PATH = "/api/v1/client/job/TaskInfo"
BALANCE_PATH = "/api/v1/client/account/balance"
ESTIMATE_PATH = "/api/v1/client/job/estimate-credits"

MAX_BODY_BYTES = 1024 * 1024  # no documented reply comes near; more is not the API talking
_CHUNK_BYTES = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 1  # an API that moved answers from its new address; a chain is not followed

class _Envelope(NamedTuple):
    """The documented reply body: {code, message, data}."""

    code: int
    message: str
    data: object
    retry_after_s: float | None  # not documented, but cheap to honour if it shows up


class _NotEnvelope(ApiError):
    """An error reply whose body is not the API's envelope (a proxy page, a bare 404)."""


class _RedirectRefused(aiohttp.ClientError):
    """A redirect away from the API (or one too many): not followed, so the key stays home."""


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
        remote_id = field_of(reply.data, "task_id")
        if not isinstance(remote_id, str) or not remote_id:
            raise ApiError(BAD_REPLY, "CreateTask reply has no task_id")
        return remote_id

    async def separation(self, remote_id: str) -> Separation:
        reply = await self._call("TaskInfo", "GET", TASK_INFO_PATH, params={"task_id": remote_id})
        return parse_separation(remote_id, reply.data, reply.message)

    async def music_task(self, music_task_id: str) -> MusicTask:
        params = {"task_id": music_task_id}
        reply = await self._call("TaskInfo", "GET", TASK_INFO_PATH, params=params)
        return parse_music_task(music_task_id, reply.data)

    async def balance(self) -> float:
        reply = await self._call("balance", "GET", BALANCE_PATH)
        return required_number(reply.data, "balance")

    async def estimate_credits(self, music_task_id: str, song_id: str, mode: Mode) -> float | None:
        """The charge for a separation, or None where the (unconfirmed) endpoint does not exist."""
        body = {"model": self._model, "input": _wire_input(music_task_id, song_id, mode)}
        try:
            reply = await self._call("estimate-credits", "POST", ESTIMATE_PATH, payload=body)
        except _NotEnvelope as exc:
            if exc.http_status in (404, 405):
                return None
            raise
        return required_number(reply.data, "credits")

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
                middlewares=(_one_attempt(URL(self._base_url)),),
            ) as resp:
                # The body decides success, so read it before looking at anything else.
                raw = await _read_bounded(resp)
                status, headers = resp.status, resp.headers
        except TimeoutError:
            text = f"{method} {path}: no reply within {self._timeout.total} s"
            raise ApiError(NO_REPLY, text) from None
        except _RedirectRefused as exc:
            raise ApiError(BAD_REPLY, self._scrub(f"{method} {path}: {exc}")) from None
        except aiohttp.ClientError as exc:
            # `from None`: the chained exception's text is not ours to vouch for (no key in it).
            text = self._scrub(f"{method} {path}: {type(exc).__name__}: {exc}")
            raise ApiError(NO_REPLY, text) from None
        return self._unwrap(status, headers, raw)

    def _unwrap(self, status: int, headers: Mapping[str, str], raw: bytes | None) -> _Envelope:
        envelope = _envelope(raw) if raw is not None else None
        ok_http = 200 <= status < 300
        if envelope is None:
            if ok_http:
                what = "not a JSON envelope" if raw is not None else "reply over 1 MiB"
                raise ApiError(BAD_REPLY, f"HTTP {status}: {what}", http_status=status)
            retry = _retry_after(headers, None)
            text = self._scrub(f"HTTP {status}: {_snippet(raw)}")
            raise _NotEnvelope(status, text, retry_after_s=retry, http_status=status)
        if ok_http and envelope.code == 200:
            return envelope
        retry = _retry_after(headers, envelope)
        code = envelope.code if envelope.code != 200 else status
        text = self._scrub(envelope.message or f"HTTP {status}")
        raise ApiError(code, text, retry_after_s=retry, http_status=status, envelope=True)

    def _scrub(self, text: str) -> str:
        # Servers echo odd things back. Tiny keys are test keys, and scrubbing them mangles text.
        return text.replace(self._api_key, "***") if len(self._api_key) >= 8 else text

    def _report(self, endpoint: str, code: int) -> None:
        if self._on_call is not None:
            self._on_call(endpoint, code)


def _one_attempt(api: URL) -> aiohttp.ClientMiddlewareType:
    """Each call reaches the API at most once, as the request budget counted it.

    aiohttp resends an idempotent GET by itself when a connection is reset; here a second
    attempt fails instead, and the caller sees NO_REPLY and backs off like any lost reply.
    A redirect is an answer, not a lost reply: one to the same API (or its https twin) is
    followed once. One elsewhere is not followed at all: the next hop would carry the key.
    """
    attempts, allowed = 0, 1
    refused: str | None = None

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        nonlocal attempts, allowed, refused
        attempts += 1
        if refused is not None:
            raise _RedirectRefused(refused)
        if attempts > allowed:
            raise aiohttp.ClientConnectionError("connection lost; not resending on our own")
        response = await handler(request)
        if response.status in REDIRECTS:
            if allowed > MAX_REDIRECTS:
                refused = f"HTTP {response.status}: one redirect too many; not followed"
            elif not _same_api(api, request.url, response.headers.get("Location")):
                refused = f"HTTP {response.status}: redirected away from the API; not followed"
            allowed += 1
        return response

    return middleware


def _same_api(api: URL, current: URL, location: str | None) -> bool:
    if not location:
        return False
    try:
        target = current.join(URL(location))
    except ValueError:
        return False
    if target.host != api.host:
        return False
    upgraded = target.scheme == "https" and target.is_default_port()
    return target.origin() == api.origin() or upgraded


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None once it passes MAX_BODY_BYTES (the rest is never read)."""
    if resp.content_length is not None and resp.content_length > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(_CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


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
    code = _code(body.get("code"))
    if code is None:
        return None
    message, data = body.get("message"), body.get("data")
    retry = number(body.get("retry_after"))
    retry = retry if retry is not None else number(field_of(data, "retry_after"))
    return _Envelope(code, message if isinstance(message, str) else "", data, retry)


def _code(value: object) -> int | None:
    """An envelope code: a whole number from 0 to 999 (200, 200.0 and "200" alike)."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None
    elif isinstance(value, float):
        value = int(value) if value.is_integer() and 0 <= value <= 999 else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 <= value <= 999 else None


def _retry_after(headers: Mapping[str, str], envelope: _Envelope | None) -> float | None:
    header = headers.get("Retry-After")
    seconds = _parse_retry_after(header) if header is not None else None
    if seconds is None and envelope is not None:
        return envelope.retry_after_s
    return seconds


def _parse_retry_after(value: str) -> float | None:
    """Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    seconds = number(value.strip())
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _snippet(raw: bytes | None, limit: int = 200) -> str:
    if raw is None:
        return "(body over 1 MiB)"
    text = " ".join(raw[: limit * 4].decode("utf-8", errors="replace").split())
    return text[:limit] if text else "(empty body)"
