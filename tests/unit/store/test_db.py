"""The SQLite file itself: migrations, WAL, the one-process lock, its reader beside its writer,
refusing what it can't use."""

from __future__ import annotations

import asyncio
import io
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.jobs import Job, JobState
from bot.ops import purge, show_jobs
from bot.store import JobStore, StoreError, schema
from bot.store.db import Database
from tests._sandbox_fixtures import FakeClock
from tests.unit.store._make import new_job


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    opened = await JobStore.open(tmp_path / "db" / "jobs.sqlite3", clock=FakeClock())
    yield opened
    await opened.close()


async def test_a_new_database_is_migrated_in_wal_mode(store: JobStore) -> None:
    assert await store.scalar("PRAGMA user_version") == schema.LATEST == 4
    assert await store.scalar("PRAGMA journal_mode") == "wal"
    assert await store.scalar("PRAGMA foreign_keys") == 1


async def test_a_version_2_file_gains_issue_12_s_columns_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for migration in schema.MIGRATIONS[:2]:
            db.executescript(migration)
        db.execute("INSERT INTO jobs (id, music_task_id, song_id, mode, state, created_at, error)"
                   " VALUES (1, 't', 's', 'vocal', 'failed', 0, 'The API refused the request')")
        db.execute("INSERT INTO subscriptions (job_id, user_id, created_at) VALUES (1, 3, 0)")
        db.execute("PRAGMA user_version = 2")

    store = await JobStore.open(path)
    try:
        job = await store.get(1)
        [sub] = await store.subscriptions(1)
    finally:
        await store.close()

    assert job is not None and (job.error, job.error_detail) == (
        "The API refused the request", None)  # kept; shown as a generic message (test_endings)
    assert (sub.user_id, sub.locale) == (3, None)  # no language known: the server's is used


async def test_a_newer_schema_is_refused_rather_than_touched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")

    with pytest.raises(StoreError, match="newer than this stembot knows"):
        await JobStore.open(path)


async def test_an_unwritable_location_fails_loudly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(StoreError, match="cannot open the database"):
        await JobStore.open(blocker / "jobs.sqlite3")


async def test_a_second_stembot_on_the_same_database_is_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite3"
    first = await JobStore.open(path)
    try:
        with pytest.raises(StoreError) as refused:
            await JobStore.open(path)
    finally:
        await first.close()
    again = await JobStore.open(path)  # the first one stopped: the lock went with it
    await again.close()

    assert f"{path}.lock" in str(refused.value)
    assert "one stembot per database" in str(refused.value)
    assert "DATABASE_URL" in str(refused.value)  # where to go for several processes


async def test_the_database_lock_is_released_when_its_process_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import asyncio, sys\n"
        "from bot.store import JobStore\n"
        "async def main():\n"
        f"    store = await JobStore.open({str(path)!r})\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(3600, store)\n"
        "asyncio.run(main())\n",
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), 20) == b"ready\n"
        with pytest.raises(StoreError, match="already running"):
            await JobStore.open(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()

    store = await JobStore.open(path)
    await store.close()


async def test_operator_commands_read_the_database_while_the_bot_holds_it(
    tmp_path: Path,
) -> None:
    settings = Settings(database_path=tmp_path / "jobs.sqlite3")
    bot = await JobStore.open(settings.database_path)
    try:
        await new_job(bot)
        listing, purged = io.StringIO(), io.StringIO()
        assert await show_jobs(settings, None, None, 10, out=listing) == 0
        assert await purge(settings, 30, out=purged) == 0
    finally:
        await bot.close()

    assert "submitting" in listing.getvalue()
    assert "deleted 0 finished jobs" in purged.getvalue()


async def _write_then_fail_at_commit(db: Database, job: Job) -> None:
    """A real COMMIT failure: a deferred foreign key is only checked when COMMIT runs, and
    SQLite then leaves the transaction open (as it does for SQLITE_BUSY on commit)."""
    async with db.transaction() as connection:
        await connection.execute("PRAGMA defer_foreign_keys = ON")
        await connection.execute(
            "UPDATE jobs SET song_title = 'half-written' WHERE id = ?", (job.id,))
        await connection.execute(
            "INSERT INTO subscriptions (job_id, user_id, created_at) VALUES (999, 4, 0)"
        )


async def test_a_failed_commit_is_rolled_back_and_the_next_write_works(
    store: JobStore, tmp_path: Path
) -> None:
    job = await new_job(store)
    with pytest.raises(sqlite3.IntegrityError):
        await _write_then_fail_at_commit(store._db, job)
    # Nothing of the failed transaction is kept, and the connection is not left inside it.
    assert (await store.get(job.id)).song_title == "Song s1"  # type: ignore[union-attr]
    moved = await store.move(job, JobState.RUNNING, remote_id="r1")
    assert moved.state == JobState.RUNNING
    reader = sqlite3.connect(tmp_path / "db" / "jobs.sqlite3")
    try:
        assert reader.execute("SELECT state FROM jobs WHERE id = ?", (job.id,)).fetchone() == (
            "running",)
    finally:
        reader.close()


async def _hold_the_writer(store: JobStore, job: Job) -> tuple[threading.Event, threading.Event]:
    """A statement on the writer's thread that blocks until released (a long write, made
    deterministic): (entered, release)."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        return int(release.wait(timeout=30))  # 0 only if the test never released it

    await store._db._db.create_function("hold", 0, hold)
    return entered, release


async def test_a_read_answers_while_a_write_transaction_holds_the_writer(
    store: JobStore,
) -> None:
    job = await new_job(store)
    entered, release = await _hold_the_writer(store, job)

    async def long_write() -> int:
        async with store._db.transaction() as db:
            await db.execute("UPDATE jobs SET song_title = 'rewritten' WHERE id = ?", (job.id,))
            async with db.execute("SELECT hold()") as cursor:
                row = await cursor.fetchone()
        return int(row[0]) if row is not None else -1

    writing = asyncio.create_task(long_write())
    assert await asyncio.to_thread(entered.wait, 30)
    try:
        read = await store.get(job.id)  # on one connection this would queue behind hold()
        page, _ = await store.jobs_page(1, 3, offset=0, limit=5)
    finally:
        release.set()

    assert await writing == 1  # released by the test, after the reads: they did not wait
    assert read is not None and read.song_title == "Song s1"  # the last commit, not the open write
    assert [j.song_title for j in page] == ["Song s1"]
    assert (await store.get(job.id)).song_title == "rewritten"  # type: ignore[union-attr]


async def test_reads_inside_a_write_transaction_see_it_and_others_do_not(
    store: JobStore,
) -> None:
    job = await new_job(store)
    sql, params = "SELECT song_title FROM jobs WHERE id = ?", (job.id,)
    go = asyncio.Event()

    async def another_task() -> object:  # started outside the transaction, as commands are
        await go.wait()
        return await store.scalar(sql, params)

    other = asyncio.create_task(another_task())
    async with store._db.transaction() as db:
        await db.execute("UPDATE jobs SET song_title = 'rewritten' WHERE id = ?", (job.id,))
        inside = await store.scalar(sql, params)
        go.set()
        outside = await other

    assert inside == "rewritten"  # a read in the transaction's own task goes to the writer
    assert outside == "Song s1"  # another task's read goes to the reader: the last commit
    assert await store.scalar(sql, params) == "rewritten"


async def test_the_reader_cannot_write(store: JobStore) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        await store._db.rows("DELETE FROM jobs")
