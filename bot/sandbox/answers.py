"""How the sandbox answers: envelopes, refusals, and the scripted faults that replace them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from bot.sandbox.seed import MALFORMED_BODY, MESSAGES, PROXY_PAGE


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


class Refusal(Exception):
    """The reply the real API would give instead of doing the work."""

    def __init__(self, code: int, message: str | None = None, retry_after_s: float | None = None):
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, "error")
        self.retry_after_s = retry_after_s


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
