"""Operator commands: `jobs` reads the database with no token; `purge` keeps open jobs."""

from __future__ import annotations

import io
import time
from pathlib import Path

from bot.config import Settings
from bot.jobs import JobState, Mode
from bot.ops import purge, show_jobs
from bot.store import JobStore


async def seed(path: Path) -> tuple[int, int]:
    clock = [time.time() - 40 * 24 * 3600]
    store = await JobStore.open(path, clock=lambda: clock[0])
    try:
        ids = []
        for song in ("old", "open"):
            job = await store.create_job(
                music_task_id="task", song_id=song, mode=Mode.VOCAL, song_title=f"Song {song}",
                guild_id=7, channel_id=8, requester_id=9, callback_token=song * 8,
                estimated_credits=1.0,
            )
            job = await store.move(job, JobState.RUNNING, remote_id=f"r-{song}")
            ids.append(job.id)
        old = await store.get(ids[0])
        assert old is not None
        await store.move(old, JobState.FAILED, error="api_failed", error_detail="upstream said no")
    finally:
        await store.close()
    return ids[0], ids[1]


async def test_jobs_lists_and_shows_a_job_without_any_token(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "ops.sqlite3")
    old, running = await seed(settings.database_path)
    listing, detail = io.StringIO(), io.StringIO()

    assert await show_jobs(settings, None, None, 10, out=listing) == 0
    assert await show_jobs(settings, old, None, 10, out=detail) == 0

    rows = listing.getvalue().splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [running, old]
    assert "error: api_failed" in detail.getvalue()  # the code, and the API's words beside it
    assert "error_detail: upstream said no" in detail.getvalue()
    assert "requester 9 in channel 8: pending" in detail.getvalue()


async def test_purge_deletes_only_old_finished_jobs(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "ops.sqlite3")
    old, running = await seed(settings.database_path)
    out = io.StringIO()

    assert await purge(settings, 30, out=out) == 0

    assert "deleted 1 finished jobs" in out.getvalue()
    store = await JobStore.open(settings.database_path)
    try:
        assert await store.get(old) is None
        assert await store.get(running) is not None
        assert await store.scalar("SELECT COUNT(*) FROM ledger") == 2  # spending history stays
    finally:
        await store.close()
