"""The wire, defensively: codes, body size, redirects and huge numbers (issue 9, finding 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from bot.api import StemApi
from bot.api.wire import MAX_BODY_BYTES
from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Mode, RemoteState
from bot.sandbox import Fault, Sandbox
from tests._sandbox_fixtures import KEY, MODEL, canned_api, ok, open_rig, serving, task_info

HUGE = 10**400  # a 400-digit integer: float() of it raises OverflowError
API = "/api/v1/client"


@pytest.mark.parametrize("code", [200.0, "200", " 200 "])
async def test_a_float_or_text_200_is_a_success_code(code: object) -> None:
    async with canned_api(200, {"code": code, "message": "success", "data": {"balance": 5}}) as api:
        assert await api.balance() == 5.0


async def test_a_float_error_code_is_read_as_that_code() -> None:
    async with canned_api(200, {"code": 422.0, "message": "task_id not found"}) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert (caught.value.code, caught.value.envelope) == (422, True)


@pytest.mark.parametrize("code", [200.5, HUGE, -1, -2, 1e300, True, "2e2", None])
async def test_an_odd_code_is_not_an_envelope(code: object) -> None:
    async with canned_api(200, {"code": code, "message": "success", "data": {"balance": 5}}) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert (caught.value.code, caught.value.envelope) == (BAD_REPLY, False)


async def test_a_body_over_the_limit_is_a_bad_reply() -> None:
    padding = "x" * (MAX_BODY_BYTES + 10)
    async with canned_api(200, ok({"balance": 5, "padding": padding})) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.code == BAD_REPLY


async def test_an_endless_body_is_cut_off_not_read_to_the_end() -> None:
    written: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        # No Content-Length: a valid envelope, padded to 64 MiB, streamed in 64 KiB chunks.
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"code": 200, "message": "success", "data": {"balance": 5, "p": "')
        for _ in range(1024):
            await resp.write(b"x" * 65536)
            written.append(1)
        await resp.write(b'"}}')
        return resp

    app = web.Application()
    app.router.add_get(f"{API}/account/balance", endless)
    async with serving(app) as base_url, aiohttp.ClientSession() as session:
        api = StemApi(session, base_url=base_url, api_key=KEY, model=MODEL, timeout_s=30)
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.code == BAD_REPLY
    assert len(written) < 1024  # the client hung up long before the end


async def test_a_huge_proxy_page_is_still_that_http_error() -> None:
    async with canned_api(502, "<html>" + "x" * (MAX_BODY_BYTES * 2)) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert (caught.value.code, caught.value.envelope) == (502, False)


@pytest.mark.parametrize(
    "body",
    [
        {"code": HUGE, "message": "x"},
        ok({"balance": HUGE}),
        {"code": 429, "message": "slow", "retry_after": HUGE},
        {"code": 429, "message": "slow", "data": {"retry_after": -HUGE}},
    ],
)
async def test_huge_numbers_in_an_envelope_never_raise_overflow(body: object) -> None:
    async with canned_api(200, body, {"Retry-After": "9" * 400}) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.retry_after_s is None


async def test_huge_numbers_in_task_info_read_as_absent() -> None:
    result = {"media_info": {"vocal_url": "https://cdn.example/v.mp3"}}
    body = task_info("success", result, credits=HUGE, complete_at=HUGE, duration_s=HUGE)
    songs = {"suno_data": [{"id": "s1", "title": "T", "duration": HUGE}]}
    async with canned_api(200, body) as api:
        separation = await api.separation("sep-x")
    async with canned_api(200, task_info("success", songs)) as api:
        task = await api.music_task("m1")
    assert separation.state is RemoteState.SUCCEEDED
    assert (separation.credits, separation.completed_at) == (None, None)
    assert task.songs[0].duration_s is None


# --- redirects under the one-attempt middleware ----------------------------------------------


@asynccontextmanager
async def moved(
    sandbox: Sandbox, status: int, *, elsewhere: str | None = None
) -> AsyncIterator[tuple[StemApi, list[str]]]:
    """The sandbox's routes, plus /moved/... answering `status` towards the real path."""
    app = sandbox.app()
    seen: list[str] = []

    async def redirect(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        target = request.path_qs.removeprefix("/moved")
        raise _redirect(status, (elsewhere or "") + target)

    app.router.add_route("*", "/moved/{tail:.*}", redirect)
    async with serving(app) as base_url, aiohttp.ClientSession() as session:
        yield StemApi(session, base_url=f"{base_url}/moved", api_key=KEY, model=MODEL), seen


def _redirect(status: int, location: str) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPMove]] = {
        301: web.HTTPMovedPermanently, 302: web.HTTPFound, 307: web.HTTPTemporaryRedirect,
        308: web.HTTPPermanentRedirect,
    }  # fmt: skip
    return kinds[status](location)


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_a_redirect_to_the_same_api_is_followed_once(status: int) -> None:
    sandbox = Sandbox()
    async with moved(sandbox, status) as (api, seen):
        balance = await api.balance()
        task = await api.music_task("demo-music-task")
    assert balance == 1000.0 and task.songs
    assert sandbox.calls["balance"] == 1 and sandbox.calls["TaskInfo"] == 1
    assert len(seen) == 2


async def test_a_create_task_redirected_with_307_is_created_once() -> None:
    sandbox = Sandbox()
    async with moved(sandbox, 307) as (api, _):
        remote_id = await api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    assert list(sandbox.separations) == [remote_id]
    assert sandbox.calls["CreateTask"] == 1


async def test_a_redirect_to_another_host_is_not_followed_and_gets_no_key() -> None:
    seen: list[dict[str, str]] = []

    async def spy(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response(ok({"balance": 1}))

    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", spy)
    async with serving(other) as other_base:
        elsewhere = other_base.replace("127.0.0.1", "localhost")
        async with moved(Sandbox(), 302, elsewhere=elsewhere) as (api, redirected):
            with pytest.raises(ApiError) as caught:
                await api.balance()
    assert caught.value.code in (NO_REPLY, BAD_REPLY)
    assert redirected and seen == []


async def test_a_reset_get_is_still_not_resent() -> None:
    sandbox = Sandbox()
    sandbox.inject("TaskInfo", Fault("reset"))
    async with open_rig(sandbox) as rig:
        with pytest.raises(ApiError) as caught:
            await rig.api.music_task("demo-music-task")
    assert caught.value.code == NO_REPLY
    assert sandbox.calls["TaskInfo"] == 1

