"""The CLI: `stembot separate --sandbox` runs the whole engine with no credentials."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import separate
from bot.config import load_settings
from bot.jobs import Delivery, JobState, Mode
from bot.sandbox import Sandbox, serve
from bot.store import JobStore
from tests._settings import make_settings


@pytest.mark.parametrize(("mode", "stems"), [(Mode.VOCAL, 2), (Mode.INSTRUMENTAL, 12)])
async def test_demo_prints_one_line_per_stem(mode: Mode, stems: int) -> None:
    out, err = io.StringIO(), io.StringIO()

    code = await separate(load_settings({}), "demo-music-task", "demo-song-1", mode,
                          use_sandbox=True, sandbox_duration_s=0.2, out=out, err=err)

    lines = out.getvalue().splitlines()
    assert code == 0
    assert len(lines) == stems
    assert lines[0].startswith("Vocals: http://127.0.0.1:")
    assert f"{stems} stems" in err.getvalue()


async def test_api_refusal_exits_non_zero_with_the_api_message() -> None:
    out, err = io.StringIO(), io.StringIO()

    code = await separate(load_settings({}), "demo-error-402", "demo-song-1", Mode.VOCAL,
                          use_sandbox=True, sandbox_duration_s=0.2, out=out, err=err)

    assert code == 1 and out.getvalue() == ""
    assert "out of credits" in err.getvalue() and "402" in err.getvalue()


async def test_bad_input_exits_2_without_a_job(tmp_path: Path) -> None:
    err = io.StringIO()

    code = await separate(load_settings({}), "demo-music-task", "no such song!", Mode.VOCAL,
                          use_sandbox=True, sandbox_duration_s=0.2, out=io.StringIO(), err=err)

    assert code == 2 and "doesn't look right" in err.getvalue()


async def test_a_refused_pre_flight_shows_the_apis_own_words_next_to_ours() -> None:
    err = io.StringIO()

    code = await separate(load_settings({}), "no-such-task", "demo-song-1", Mode.VOCAL,
                          use_sandbox=True, sandbox_duration_s=0.2, out=io.StringIO(), err=err)

    assert code == 2
    assert "No music task `no-such-task`" in err.getvalue()
    assert '(the API said: "task not found")' in err.getvalue()


async def test_the_sandbox_demo_never_writes_to_the_shared_database() -> None:
    out, err = io.StringIO(), io.StringIO()
    # An unreachable PostgreSQL: the demo would fail to open it if it tried.
    settings = load_settings({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere"})

    code = await separate(settings, "demo-music-task", "demo-song-1", Mode.VOCAL,
                          use_sandbox=True, sandbox_duration_s=0.2, out=out, err=err)

    assert code == 0 and len(out.getvalue().splitlines()) == 2


async def test_the_cli_on_the_bots_database_leaves_the_bots_results_for_the_bot(
    tmp_path: Path,
) -> None:
    """`stembot separate` (not the demo) opens the bot's own database: a Discord member's result
    waiting there must stay due for the bot, not be marked as printed in this terminal."""
    database = tmp_path / "jobs.sqlite3"
    async with await serve(Sandbox(duration_s=lambda mode: 0.2)) as server:
        settings = make_settings(database, server.base_url, poll_max_interval_s=1.0,
                                 poll_min_interval_s=0.2)  # not the first poll's 30 s
        store = await JobStore.open(database)
        member_job = await store.create_job(
            music_task_id="demo-music-task", song_id="demo-song-2", mode=Mode.VOCAL,
            song_title=None, guild_id=1, channel_id=2, requester_id=3, callback_token=None,
            estimated_credits=1.0,
        )
        running = await store.move(member_job, JobState.RUNNING, remote_id="r-member")
        await store.move(running, JobState.FAILED, error="api_failed")
        await store.close()

        out, err = io.StringIO(), io.StringIO()
        code = await separate(settings, "demo-music-task", "demo-song-1", Mode.VOCAL,
                              use_sandbox=False, out=out, err=err)

        store = await JobStore.open(database)
        try:
            [member_sub] = await store.subscriptions(member_job.id)
            [cli_job] = [j for j in await store.recent_jobs() if j.id != member_job.id]
            cli_subs = await store.subscriptions(cli_job.id)
        finally:
            await store.close()
    assert code == 0 and len(out.getvalue().splitlines()) == 2, err.getvalue()
    assert member_sub.delivery == Delivery.PENDING and member_sub.attempts == 0
    assert [s.delivery for s in cli_subs] == [Delivery.CHANNEL]
