"""StemApi against the sandbox and canned loopback servers: parsing, errors, secrecy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC

import aiohttp
import pytest

from bot.api import StemApi, parse_stems
from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Mode, RemoteState
from bot.sandbox import Fault, Sandbox
from tests._sandbox_fixtures import (
    MODEL,
    START,
    ApiRig,
    canned_api,
    canned_app,
    ok,
    open_rig,
    serving,
    task_info,
)

TWELVE = [
    "Vocals", "Backing vocals", "Drums", "Bass", "Guitar", "Keyboard",
    "Strings", "Brass", "Woodwinds", "Percussion", "Synth", "FX / other",
]  # fmt: skip


@pytest.fixture
async def rig() -> AsyncIterator[ApiRig]:
    async with open_rig() as rig:
        yield rig


async def test_vocal_separation_polls_to_two_stems(rig: ApiRig) -> None:
    remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)

    running = await rig.api.separation(remote_id)
    rig.clock.advance(3)
    done = await rig.api.separation(remote_id)

    assert running.state is RemoteState.RUNNING and running.stems == ()
    assert done.state is RemoteState.SUCCEEDED
    assert [s.label for s in done.stems] == ["Vocals", "Instrumental"]
    assert done.credits == 1.0 and done.error is None
    assert done.completed_at is not None and done.completed_at.tzinfo is UTC
    assert done.completed_at.timestamp() == int(START + 3)


async def test_instrumental_separation_gives_twelve_stems_with_live_links(rig: ApiRig) -> None:
    remote_id = await rig.api.create_separation("demo-music-task", "demo-song-2", Mode.INSTRUMENTAL)
    rig.clock.advance(5)

    done = await rig.api.separation(remote_id)

    assert [s.label for s in done.stems] == TWELVE
    assert done.credits == 5.0
    assert all(len(s.url) > 250 and "Signature=" in s.url for s in done.stems)
    async with rig.session.get(done.stems[10].url) as resp:  # the nested {"url": ...} one
        assert resp.status == 200 and (await resp.read()).startswith(b"ID3")


def test_parse_stems_walks_unknown_keys_and_nested_objects() -> None:
    media = {
        "zither_url": "https://cdn.example/z.mp3",
        "piano_url": {"audio_url": "https://cdn.example/p.mp3"},
        "drums_url": {"url": " https://cdn.example/d.mp3 ", "format": "mp3"},
        "vocal_url": "http://cdn.example/v.mp3",
        "vocals_copy_url": "http://cdn.example/v.mp3",
        "task_id": "sep-123",
        "duration": 12.5,
        "fx_url": "",
        "bass_url": "ftp://cdn.example/b.mp3",
        "guitar_url": {"url": None},
        "broken_url": "http://[::1",
    }

    stems = parse_stems(media)

    assert [(s.key, s.label) for s in stems] == [
        ("vocal_url", "Vocals"),
        ("drums_url", "Drums"),
        ("piano_url", "Piano"),
        ("zither_url", "Zither"),
    ]
    assert stems[1].url == "https://cdn.example/d.mp3"


@pytest.mark.parametrize("media_info", [None, [], "x", {}, {"task_id": "abc"}])
def test_parse_stems_finds_nothing_in_non_stem_shapes(media_info: object) -> None:
    assert parse_stems(media_info) == ()


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("success", RemoteState.SUCCEEDED),
        ("succeeded", RemoteState.SUCCEEDED),
        ("COMPLETED", RemoteState.SUCCEEDED),
        ("pending", RemoteState.PENDING),
        ("weird", RemoteState.SUCCEEDED),  # unfamiliar, but it carries stems (issue 9)
    ],
)
async def test_status_words_are_read_liberally(status: str, state: RemoteState) -> None:
    result = {"media_info": {"vocal_url": "https://cdn.example/v.mp3"}}
    async with canned_api(200, task_info(status, result)) as api:
        separation = await api.separation("sep-x")
    assert (separation.state, separation.raw_status) == (state, status)


@pytest.mark.parametrize(
    "result", [{"media_info": {}}, None, {}, {"media_info": []}, {"media_info": [{"id": "x"}]}]
)
async def test_a_success_without_readable_stems_is_still_a_success_with_no_stems(
    result: object,
) -> None:
    # The scheduler re-polls such a job a few times before failing it (shared contract).
    async with canned_api(200, task_info("success", result)) as api:
        separation = await api.separation("sep-x")
    assert (separation.state, separation.stems, separation.error) == (
        RemoteState.SUCCEEDED, (), None,
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (task_info("error", {"message": "vocals not found"}), "vocals not found"),
        ({**task_info("failed"), "message": "upstream exploded"}, "upstream exploded"),
        (task_info("FAILED"), "separation failed"),
    ],
)
async def test_failure_reason_comes_from_result_then_envelope(body: object, error: str) -> None:
    async with canned_api(200, body) as api:
        separation = await api.separation("sep-x")
    assert separation.state is RemoteState.FAILED
    assert separation.error == error


@pytest.mark.parametrize("code", [401, 402, 404, 422, 429, 455, 500, 501, 505])
async def test_every_documented_code_raises_api_error_with_that_code(
    rig: ApiRig, code: int
) -> None:
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation(f"demo-error-{code}", "song", Mode.VOCAL)
    assert (caught.value.code, caught.value.http_status) == (code, code)
    assert caught.value.retry_after_s == (2.0 if code in (429, 455) else None)
    assert rig.calls == [("CreateTask", code)]


async def test_error_code_inside_http_200_is_an_error(rig: ApiRig) -> None:
    rig.sandbox.inject("CreateTask", Fault("code", 422, http_status=200, message="nope"))
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    assert (caught.value.code, caught.value.http_status, caught.value.message) == (422, 200, "nope")


@pytest.mark.parametrize(
    ("headers", "body", "retry_after_s"),
    [
        ({"Retry-After": "7"}, {"code": 429, "message": "slow down"}, 7.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, {"code": 429}, 0.0),
        ({}, {"code": 429, "message": "slow", "data": {"retry_after": 3}}, 3.0),
        ({"Retry-After": "soon"}, {"code": 429, "retry_after": "4.5"}, 4.5),
        ({}, {"code": 429}, None),
    ],
)
async def test_retry_after_is_read_from_header_or_body(
    headers: dict[str, str], body: object, retry_after_s: float | None
) -> None:
    async with canned_api(429, body, headers) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.code == 429
    assert caught.value.retry_after_s == retry_after_s


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (502, "<html>Bad Gateway</html>", 502),
        (200, "<html>hello</html>", BAD_REPLY),
        (200, [1, 2], BAD_REPLY),
        (200, ok(None), BAD_REPLY),
        (200, ok({"balance": "lots"}), BAD_REPLY),
        (500, {"code": 200, "message": "confused"}, 500),
    ],
)
async def test_replies_that_are_not_usable_envelopes(status: int, body: object, code: int) -> None:
    async with canned_api(status, body) as api:
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.code == code


async def test_timeout_is_no_reply() -> None:
    async with open_rig(timeout_s=0.2) as rig:
        rig.sandbox.inject("TaskInfo", Fault("timeout", delay_s=10))
        with pytest.raises(ApiError) as caught:
            await rig.api.music_task("demo-music-task")
    assert caught.value.code == NO_REPLY
    assert rig.calls == [("TaskInfo", NO_REPLY)]


async def test_truncated_json_is_bad_reply(rig: ApiRig) -> None:
    rig.sandbox.inject("balance", Fault("malformed"))
    with pytest.raises(ApiError) as caught:
        await rig.api.balance()
    assert caught.value.code == BAD_REPLY


async def test_reset_create_is_no_reply_and_not_resent(rig: ApiRig) -> None:
    rig.sandbox.inject("CreateTask", Fault("reset"))
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    assert caught.value.code == NO_REPLY
    assert rig.sandbox.calls["CreateTask"] == 1


async def test_reset_task_info_is_no_reply(rig: ApiRig) -> None:
    # aiohttp itself retries an idempotent GET once on a dropped connection, so drop it twice.
    rig.sandbox.inject("TaskInfo", Fault("reset"), Fault("reset"))
    with pytest.raises(ApiError) as caught:
        await rig.api.music_task("demo-music-task")
    assert caught.value.code == NO_REPLY


async def test_connection_refused_is_no_reply() -> None:
    async with serving(canned_app(200, ok({}))) as base_url:
        pass  # the port is closed again now
    async with aiohttp.ClientSession() as session:
        api = StemApi(session, base_url=base_url, api_key="k", model=MODEL)
        with pytest.raises(ApiError) as caught:
            await api.balance()
    assert caught.value.code == NO_REPLY


async def test_api_key_never_shows_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    sentinel = "SENTINEL-KEY-7f3a9c"
    caplog.set_level(logging.DEBUG)
    sandbox = Sandbox(api_key="the-right-key")
    echo = Fault("code", 500, message=f"bad key {sentinel}")
    sandbox.inject("balance", Fault("timeout", delay_s=10), Fault("malformed"), echo)
    sandbox.inject("CreateTask", Fault("reset"))
    errors: list[ApiError] = []
    async with open_rig(sandbox, api_key=sentinel, timeout_s=0.2) as rig:
        calls = [rig.api.balance] * 3 + [
            lambda: rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL),
            lambda: rig.api.music_task("demo-music-task"),
        ]
        for call in calls:
            with pytest.raises(ApiError) as caught:
                await call()
            errors.append(caught.value)
        text = repr(rig.api)
    assert [e.code for e in errors] == [NO_REPLY, BAD_REPLY, 500, NO_REPLY, 401]
    for error in errors:
        text += f"{error} {error!r} {error.message} {error.args} {error.__cause__!r}"
    assert sentinel not in text
    assert sentinel not in caplog.text


async def test_wrong_key_is_401_and_right_key_works() -> None:
    sandbox = Sandbox(api_key="the-right-key")
    async with open_rig(sandbox, api_key="a-wrong-key") as rig:
        with pytest.raises(ApiError) as caught:
            await rig.api.balance()
    async with open_rig(sandbox, api_key="the-right-key") as rig:
        balance = await rig.api.balance()
    assert caught.value.code == 401
    assert balance == 1000.0


async def test_music_task_lists_its_songs(rig: ApiRig) -> None:
    task = await rig.api.music_task("demo-music-task")
    pending = await rig.api.music_task("demo-pending-task")

    assert (task.state, task.provider, task.model) == (
        RemoteState.SUCCEEDED,
        "Suno",
        "suno/music-generate",
    )
    assert [s.title for s in task.songs] == ["Midnight Addiction", "Midnight Addiction (alt take)"]
    song = task.song("demo-song-2")
    assert song is not None and song.duration_s == pytest.approx(167.3)
    assert song.audio_url is not None and song.audio_url.startswith(rig.server.base_url)
    assert task.song("no-such-song") is None
    assert (pending.state, pending.songs) == (RemoteState.RUNNING, ())


async def test_song_without_title_is_untitled_and_idless_items_are_skipped() -> None:
    songs = [{"suno_id": "s1", "duration": "12"}, {"title": "ghost"}, "junk"]
    async with canned_api(200, task_info("success", {"suno_data": songs})) as api:
        task = await api.music_task("m1")
    assert [(s.song_id, s.title, s.duration_s) for s in task.songs] == [("s1", "Untitled", 12.0)]


async def test_suno_data_that_is_not_a_list_is_bad_reply() -> None:
    async with canned_api(200, task_info("success", {"suno_data": {"a": 1}})) as api:
        with pytest.raises(ApiError) as caught:
            await api.music_task("m1")
    assert caught.value.code == BAD_REPLY


async def test_unknown_task_is_404_on_task_info_and_422_on_create(rig: ApiRig) -> None:
    with pytest.raises(ApiError) as info:
        await rig.api.music_task("no-such-task")
    with pytest.raises(ApiError) as create:
        await rig.api.create_separation("no-such-task", "demo-song-1", Mode.VOCAL)
    assert info.value.code == 404
    assert (create.value.code, create.value.message) == (422, "task_id not found")


async def test_estimate_credits_from_sandbox(rig: ApiRig) -> None:
    vocal = await rig.api.estimate_credits("demo-music-task", "demo-song-1", Mode.VOCAL)
    full = await rig.api.estimate_credits("demo-music-task", "demo-song-1", Mode.INSTRUMENTAL)
    assert (vocal, full) == (1.0, 5.0)
    assert rig.sandbox.balance == 1000.0  # estimating is free


@pytest.mark.parametrize("status", [404, 405])
async def test_estimate_credits_is_none_where_the_endpoint_is_missing(status: int) -> None:
    async with canned_api(status, "404: Not Found") as api:
        assert await api.estimate_credits("m", "s", Mode.VOCAL) is None


async def test_estimate_credits_envelope_404_is_still_an_error() -> None:
    async with canned_api(404, {"code": 404, "message": "task not found"}) as api:
        with pytest.raises(ApiError) as caught:
            await api.estimate_credits("m", "s", Mode.VOCAL)
    assert caught.value.code == 404


async def test_on_call_reports_every_call(rig: ApiRig) -> None:
    await rig.api.balance()
    with pytest.raises(ApiError):
        await rig.api.separation("sep-unknown")
    assert rig.calls == [("balance", 200), ("TaskInfo", 404)]
