"""The crun.ai client: one coroutine per remote call, typed ApiError, no retry policy."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import aiohttp
from yarl import URL

from bot.api import wire
from bot.api.taskinfo import (
    MusicTask,
    Separation,
    Song,
    field_of,
    parse_music_task,
    parse_separation,
    parse_stems,
    required_number,
)
from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Mode

log = logging.getLogger(__name__)

__all__ = ["MusicTask", "Separation", "Song", "StemApi", "parse_stems"]

CREATE_PATH = "/api/v1/client/job/CreateTask"
TASK_INFO_PATH = "/api/v1/client/job/TaskInfo"
BALANCE_PATH = "/api/v1/client/account/balance"
ESTIMATE_PATH = "/api/v1/client/job/estimate-credits"

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
    ) -> wire.Envelope:
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
    ) -> wire.Envelope:
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=payload,
                headers={"x-api-key": self._api_key},
                timeout=self._timeout,
                middlewares=(wire.one_attempt(URL(self._base_url)),),
            ) as resp:
                # The body decides success, so read it before looking at anything else.
                raw = await wire.read_bounded(resp)
                status, headers = resp.status, resp.headers
        except TimeoutError:
            text = f"{method} {path}: no reply within {self._timeout.total} s"
            raise ApiError(NO_REPLY, text) from None
        except wire.RedirectRefused as exc:
            raise ApiError(BAD_REPLY, self._scrub(f"{method} {path}: {exc}")) from None
        except aiohttp.ClientError as exc:
            # `from None`: the chained exception's text is not ours to vouch for (no key in it).
            text = self._scrub(f"{method} {path}: {type(exc).__name__}: {exc}")
            raise ApiError(NO_REPLY, text) from None
        return self._unwrap(status, headers, raw)

    def _unwrap(self, status: int, headers: Mapping[str, str], raw: bytes | None) -> wire.Envelope:
        envelope = wire.envelope(raw) if raw is not None else None
        ok_http = 200 <= status < 300
        if envelope is None:
            if ok_http:
                what = "not a JSON envelope" if raw is not None else "reply over 1 MiB"
                raise ApiError(BAD_REPLY, f"HTTP {status}: {what}", http_status=status)
            retry = wire.retry_after(headers, None)
            text = self._scrub(f"HTTP {status}: {wire.snippet(raw)}")
            raise _NotEnvelope(status, text, retry_after_s=retry, http_status=status)
        if ok_http and envelope.code == 200:
            return envelope
        retry = wire.retry_after(headers, envelope)
        code = envelope.code if envelope.code != 200 else status
        text = self._scrub(envelope.message or f"HTTP {status}")
        raise ApiError(code, text, retry_after_s=retry, http_status=status, envelope=True)

    def _scrub(self, text: str) -> str:
        # Servers echo odd things back. Tiny keys are test keys, and scrubbing them mangles text.
        return text.replace(self._api_key, "***") if len(self._api_key) >= 8 else text

    def _report(self, endpoint: str, code: int) -> None:
        if self._on_call is not None:
            self._on_call(endpoint, code)


def _wire_input(music_task_id: str, song_id: str, mode: Mode) -> dict[str, str]:
    return {"task_id": music_task_id, "suno_id": song_id, "mode": mode.value}


