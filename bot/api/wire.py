"""The crun wire: the one-attempt middleware, bounded reads, and the envelope read defensively."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import aiohttp
from yarl import URL

from bot.api.taskinfo import field_of, number

MAX_BODY_BYTES = 1024 * 1024  # no documented reply comes near; more is not the API talking
_CHUNK_BYTES = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 1  # an API that moved answers from its new address; a chain is not followed


class Envelope(NamedTuple):
    """The documented reply body: {code, message, data}."""

    code: int
    message: str
    data: object
    retry_after_s: float | None  # not documented, but cheap to honour if it shows up


class RedirectRefused(aiohttp.ClientError):
    """A redirect away from the API (or one too many): not followed, so the key stays home."""


def one_attempt(api: URL) -> aiohttp.ClientMiddlewareType:
    """Each call reaches the API at most once, as the request rate counted it.

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
            raise RedirectRefused(refused)
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


async def read_bounded(resp: aiohttp.ClientResponse) -> bytes | None:
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


def envelope(raw: bytes) -> Envelope | None:
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
    return Envelope(code, message if isinstance(message, str) else "", data, retry)


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


def retry_after(headers: Mapping[str, str], envelope: Envelope | None) -> float | None:
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


def snippet(raw: bytes | None, limit: int = 200) -> str:
    if raw is None:
        return "(body over 1 MiB)"
    text = " ".join(raw[: limit * 4].decode("utf-8", errors="replace").split())
    return text[:limit] if text else "(empty body)"
