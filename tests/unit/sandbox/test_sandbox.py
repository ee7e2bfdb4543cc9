"""The sandbox's rules, faults, callbacks and control endpoints, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.errors import ApiError
from bot.jobs import Mode, RemoteState
from bot.sandbox import DIALECTS, Fault, Sandbox, run_forever, serve
from tests._sandbox_fixtures import KEY, MODEL, ApiRig, FakeClock, Receiver, open_rig, serving

API = "/api/v1/client"


@pytest.fixture
async def rig() -> AsyncIterator[ApiRig]:
    async with open_rig() as rig:
        yield rig


class LogWaiter(logging.Handler):
    """Sets an event when a matching record is logged, so tests wait instead of sleeping."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)
        self.match: re.Match[str] | None = None
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if (found := self.pattern.search(record.getMessage())) is not None:
            self.match = found
            self.seen.set()


async def post_create(rig: ApiRig, body: object, key: str = KEY) -> tuple[int, dict[str, object]]:
    url = f"{rig.server.base_url}{API}/job/CreateTask"
    async with rig.session.post(url, json=body, headers={"x-api-key": key}) as resp:
        return resp.status, await resp.json()


def create_body(music_task_id: str, song_id: str, mode: str = "vocal") -> dict[str, object]:
    return {"model": MODEL, "input": {"task_id": music_task_id, "suno_id": song_id, "mode": mode}}


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "192.168.1.2"])
async def test_sandbox_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        await serve(Sandbox(), host=host)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**create_body("demo-music-task", "demo-song-1"), "model": "suno/other"}, "model"),
        (create_body("demo-music-task", "demo-song-1", "karaoke"), "mode"),
        (create_body("demo-pending-task", "demo-pending-song"), "task is not completed"),
        (create_body("demo-failed-task", "demo-failed-song"), "task is not completed"),
        (create_body("demo-music-task", "demo-song-9"), "suno_id not found in task"),
        (create_body("demo-error-418", "x"), "task_id not found"),
        ({"input": "nonsense"}, "model"),
    ],
)
async def test_create_validates_like_the_real_api(rig: ApiRig, body: object, message: str) -> None:
    status, reply = await post_create(rig, body)
    assert (status, reply["code"]) == (422, 422)
    assert message in str(reply["message"])
    assert rig.sandbox.create_requests == [body]
    assert rig.sandbox.separations == {} and rig.sandbox.balance == 1000.0


async def test_create_without_key_is_401_and_still_recorded(rig: ApiRig) -> None:
    status, reply = await post_create(rig, create_body("demo-music-task", "demo-song-1"), key="")
    assert (status, reply["code"]) == (401, 401)
    assert len(rig.sandbox.create_requests) == 1


async def test_creates_are_charged_and_refused_when_credits_run_out() -> None:
    async with open_rig(Sandbox(balance=6.0)) as rig:
        await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.INSTRUMENTAL)
        with pytest.raises(ApiError) as caught:
            await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.INSTRUMENTAL)
        await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
        balance = await rig.api.balance()
    assert caught.value.code == 402
    assert balance == 0.0
    assert len(rig.sandbox.separations) == 2


async def test_uuid_seed_song_can_be_separated(rig: ApiRig) -> None:
    task_id = next(t for t in rig.sandbox.music_tasks if not t.startswith("demo-"))
    task = await rig.api.music_task(task_id)
    remote_id = await rig.api.create_separation(task_id, task.songs[0].song_id, Mode.VOCAL)
    assert re.fullmatch(r"sep-[0-9a-f]{24}", remote_id)
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", task.songs[0].song_id)


async def test_due_finishes_work_once_at_its_time(rig: ApiRig) -> None:
    vocal = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    full = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.INSTRUMENTAL)
    rig.clock.advance(2.9)
    early = rig.sandbox.due()
    rig.clock.advance(0.1)
    first = rig.sandbox.due()
    again = rig.sandbox.due()
    assert (early, first, again) == ([], [vocal], [])
    assert rig.sandbox.separations[full].state is RemoteState.RUNNING


async def test_finish_can_fail_a_separation_with_a_reason(rig: ApiRig) -> None:
    remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    rig.sandbox.finish(remote_id, success=False, message="upstream exploded")
    rig.sandbox.finish(remote_id)  # already over: no change
    separation = await rig.api.separation(remote_id)
    assert (separation.state, separation.error) == (RemoteState.FAILED, "upstream exploded")


@pytest.mark.parametrize(
    ("running_word", "status_word", "before", "after"),
    [
        ("running", "COMPLETED", RemoteState.RUNNING, RemoteState.SUCCEEDED),
        ("weird", "SUCCEEDED", RemoteState.UNKNOWN, RemoteState.SUCCEEDED),
    ],
)
async def test_status_words_can_be_changed(
    rig: ApiRig, running_word: str, status_word: str, before: RemoteState, after: RemoteState
) -> None:
    rig.sandbox.running_word, rig.sandbox.status_word = running_word, status_word
    remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    first = await rig.api.separation(remote_id)
    rig.sandbox.finish(remote_id)
    second = await rig.api.separation(remote_id)
    assert (first.state, first.raw_status) == (before, running_word)
    assert (second.state, second.raw_status) == (after, status_word)


async def test_faults_are_consumed_in_order(rig: ApiRig) -> None:
    rig.sandbox.inject("*", Fault("code", 455))
    rig.sandbox.inject("balance", Fault("code", 500), Fault("code", 429, retry_after_s=1.5))
    outcomes: list[object] = []
    for _ in range(4):
        try:
            outcomes.append(await rig.api.balance())
        except ApiError as exc:
            outcomes.append((exc.code, exc.retry_after_s))
    assert outcomes == [(500, None), (429, 1.5), (455, None), 1000.0]


def test_inject_rejects_unknown_endpoints() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        Sandbox().inject("TaskInfos", Fault("reset"))


async def fault_pattern(seed: int) -> list[int]:
    sandbox = Sandbox(seed=seed)
    sandbox.set_fault_rate("balance", 0.5, [Fault("code", 500), Fault("code", 503)])
    codes = []
    async with open_rig(sandbox) as rig:
        for _ in range(24):
            try:
                await rig.api.balance()
                codes.append(200)
            except ApiError as exc:
                codes.append(exc.code)
    return codes


async def test_fault_rate_is_reproducible_with_a_seed() -> None:
    first, second = await fault_pattern(7), await fault_pattern(7)
    assert first == second
    assert {200, 500, 503} <= set(first)


async def test_callback_is_posted_when_a_separation_ends() -> None:
    receiver = Receiver()
    async with serving(receiver.app()) as hook_base, open_rig() as rig:
        remote_id = await rig.api.create_separation(
            "demo-music-task", "demo-song-1", Mode.VOCAL, callback_url=f"{hook_base}/hook"
        )
        rig.clock.advance(3)
        rig.sandbox.due()
        await asyncio.wait_for(receiver.arrived.wait(), 5)
    assert receiver.bodies == [{"task_id": remote_id, "status": "success"}]


async def test_ticker_fires_callbacks_without_any_polling() -> None:
    receiver = Receiver()
    sandbox = Sandbox(duration_s=lambda mode: 0.0)  # real clock: due at once
    async with serving(receiver.app()) as hook_base, open_rig(sandbox) as rig:
        await rig.api.create_separation(
            "demo-music-task", "demo-song-1", Mode.VOCAL, callback_url=f"{hook_base}/hook"
        )
        await asyncio.wait_for(receiver.arrived.wait(), 5)
    assert rig.sandbox.calls["TaskInfo"] == 0
    assert receiver.bodies[0]["status"] == "success"


async def test_failed_callback_is_logged_not_raised(rig: ApiRig) -> None:
    async with serving(Receiver().app()) as closed_base:
        pass  # nothing listens there any more
    waiter = LogWaiter("callback to .* failed")
    logging.getLogger("bot.sandbox").addHandler(waiter)
    try:
        remote_id = await rig.api.create_separation(
            "demo-music-task", "demo-song-1", Mode.VOCAL, callback_url=f"{closed_base}/hook"
        )
        rig.sandbox.finish(remote_id)
        await asyncio.wait_for(waiter.seen.wait(), 5)
    finally:
        logging.getLogger("bot.sandbox").removeHandler(waiter)
    assert rig.sandbox.separations[remote_id].state is RemoteState.SUCCEEDED


async def test_control_endpoints_report_and_finish(rig: ApiRig) -> None:
    remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    base = rig.server.base_url
    async with rig.session.post(f"{base}/_sandbox/finish/{remote_id}", json={"success": False}):
        pass
    async with rig.session.post(f"{base}/_sandbox/finish/sep-nope") as missing:
        missing_status = missing.status
    async with rig.session.get(f"{base}/_sandbox/stats") as resp:
        stats = await resp.json()
    assert rig.sandbox.separations[remote_id].state is RemoteState.FAILED
    assert missing_status == 404
    assert stats == {"calls": {"CreateTask": 1}, "creates": 1}


async def test_task_info_needs_a_known_id(rig: ApiRig) -> None:
    url = f"{rig.server.base_url}{API}/job/TaskInfo"
    async with rig.session.get(url, headers={"x-api-key": KEY}) as resp:
        missing = (resp.status, (await resp.json())["code"])
    async with rig.session.get(f"{rig.server.base_url}/files/sep-nope/vocal.mp3") as resp:
        no_file = resp.status
    assert missing == (422, 422)
    assert no_file == 404


async def test_run_forever_serves_until_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    waiter = LogWaiter(r"http://127\.0\.0\.1:\d+")
    logging.getLogger("bot.sandbox").addHandler(waiter)
    caplog.set_level(logging.INFO, logger="bot.sandbox")
    task = asyncio.create_task(run_forever(0))
    try:
        await asyncio.wait_for(waiter.seen.wait(), 5)
        assert waiter.match is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{waiter.match.group(0)}/_sandbox/stats") as resp:
                stats = await resp.json()
    finally:
        task.cancel()
        logging.getLogger("bot.sandbox").removeHandler(waiter)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stats == {"calls": {}, "creates": 0}


async def test_added_music_task_counts_as_finished_under_any_success_word(rig: ApiRig) -> None:
    rig.sandbox.add_music_task("mine", [("s1", "First")], status="COMPLETED")
    rig.sandbox.add_music_task("queued", [("s2", "Second")], status="queued")
    remote_id = await rig.api.create_separation("mine", "s1", Mode.VOCAL)
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("queued", "s2", Mode.VOCAL)
    assert remote_id in rig.sandbox.separations
    assert (caught.value.code, caught.value.message) == (422, "task is not completed")


# --- dialects: every documented shape of the same answers (issue 9, "Bar") ---------------

TWO = ["Vocals", "Instrumental"]
TWELVE = [
    "Vocals", "Backing vocals", "Drums", "Bass", "Guitar", "Keyboard",
    "Strings", "Brass", "Woodwinds", "Percussion", "Synth", "FX / other",
]  # fmt: skip


async def raw_task_info(rig: ApiRig, task_id: str) -> dict[str, object]:
    url = f"{rig.server.base_url}{API}/job/TaskInfo"
    async with rig.session.get(url, params={"task_id": task_id}, headers={"x-api-key": KEY}) as r:
        data = (await r.json())["data"]
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
async def test_every_dialect_reads_back_as_the_same_songs_and_stems(dialect: str) -> None:
    clock = FakeClock()
    async with open_rig(Sandbox(dialect=dialect, clock=clock), clock=clock) as rig:
        task = await rig.api.music_task("demo-music-task")
        vocal = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
        full = await rig.api.create_separation("demo-music-task", "demo-song-2", Mode.INSTRUMENTAL)
        running = await rig.api.separation(vocal)
        rig.clock.advance(5)
        two, twelve = await rig.api.separation(vocal), await rig.api.separation(full)
        async with rig.session.get(twelve.stems[-1].url) as resp:
            audio = await resp.read()
    assert [s.song_id for s in task.songs] == ["demo-song-1", "demo-song-2"]
    assert task.state is RemoteState.SUCCEEDED and task.songs[0].audio_url is not None
    assert running.state in (RemoteState.RUNNING, RemoteState.PENDING)
    assert (two.state, [s.label for s in two.stems]) == (RemoteState.SUCCEEDED, TWO)
    assert [s.label for s in twelve.stems] == TWELVE
    assert audio.startswith(b"ID3")


async def test_the_camel_dialect_sends_nulls_and_the_original_mix() -> None:
    async with open_rig(Sandbox(dialect="camel")) as rig:
        remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
        rig.sandbox.finish(remote_id)
        data = await raw_task_info(rig, remote_id)
    media = data["result"]["media_info"]  # type: ignore[index]
    assert media["vocalUrl"] and media["instrumentalUrl"] and media["originUrl"]
    assert media["drumsUrl"] is None and media["backingVocalsUrl"] is None
    assert len(media) == 15


async def test_the_list_dialect_sends_stem_objects_with_group_names() -> None:
    async with open_rig(Sandbox(dialect="list")) as rig:
        remote_id = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
        rig.sandbox.finish(remote_id)
        data = await raw_task_info(rig, remote_id)
        songs = (await raw_task_info(rig, "demo-music-task"))["result"]
    media = data["result"]["media_info"]  # type: ignore[index]
    assert [item["stem_type_group_name"] for item in media] == ["Vocals", "Instrumental"]
    assert {"audio_url", "duration", "id"} <= set(media[0])
    assert {"id", "audio_url", "image_url", "title"} <= set(songs["suno_data"][0])  # type: ignore[index]


async def test_the_reseller_dialect_speaks_in_capitals_and_keys_songs_by_id() -> None:
    async with open_rig(Sandbox(dialect="reseller")) as rig:
        ok = await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
        bad = await rig.api.create_separation("demo-music-task", "demo-song-2", Mode.VOCAL)
        words = [(await raw_task_info(rig, ok))["status"]]
        rig.sandbox.finish(ok)
        rig.sandbox.finish(bad, success=False, message="no vocals found")
        words += [(await raw_task_info(rig, ok))["status"]]
        failed = await rig.api.separation(bad)
        music = [(await raw_task_info(rig, t))["status"] for t in ("demo-music-task",
                                                                    "demo-pending-task")]
    assert words == ["PENDING", "SUCCESS"] and music == ["SUCCESS", "PENDING"]
    assert (failed.raw_status, failed.state, failed.error) == (
        "GENERATE_AUDIO_FAILED", RemoteState.FAILED, "no vocals found",
    )


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect"):
        Sandbox(dialect="klingon")


def test_the_sandbox_command_takes_a_dialect() -> None:
    from bot.__main__ import _parser

    assert _parser().parse_args(["sandbox", "--dialect", "camel"]).dialect == "camel"


# --- "handle the call, then fail": the answer proves nothing about money (finding 1) --------


async def test_an_after_fault_creates_and_charges_then_answers_a_proxy_page(rig: ApiRig) -> None:
    rig.sandbox.inject("CreateTask", Fault("after", code=502, html=True))
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("demo-music-task", "demo-song-1", Mode.VOCAL)
    assert (caught.value.code, caught.value.envelope) == (502, False)
    assert "<html>" in caught.value.message.lower() or "bad gateway" in caught.value.message.lower()
    assert len(rig.sandbox.separations) == 1 and rig.sandbox.balance == 999.0


async def test_an_after_fault_can_answer_an_envelope_500(rig: ApiRig) -> None:
    rig.sandbox.inject("CreateTask", Fault("after", code=500))
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("demo-music-task", "demo-song-2", Mode.INSTRUMENTAL)
    assert (caught.value.code, caught.value.envelope, caught.value.proves_nothing_made) == (
        500, True, False,
    )
    assert len(rig.sandbox.separations) == 1 and rig.sandbox.balance == 995.0


async def test_demo_error_502_is_processed_then_answered_with_a_proxy_page(rig: ApiRig) -> None:
    with pytest.raises(ApiError) as caught:
        await rig.api.create_separation("demo-error-502", "demo-song-1", Mode.VOCAL)
    (sep,) = rig.sandbox.separations.values()
    assert (caught.value.code, caught.value.envelope) == (502, False)
    assert sep.music_task_id == "demo-error-502" and rig.sandbox.balance == 999.0
