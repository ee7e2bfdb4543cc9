"""Campaign 6: the database under pressure: many writers at once, full disk, read-only, too new."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.jobs import Delivery
from bot.sandbox import Sandbox, serve
from bot.store import JobStore, StoreError
from bot.tree import GENERIC_ERROR
from tests._rig import Recorder
from tests._settings import make_settings
from tests._sqlite import sqlite
from tests.bot_world import bot_world
from tests.standin import Interaction, Message
from tests.survival._campaign import CampaignReport, report, size

pytestmark = pytest.mark.campaign

ROOT = Path(__file__).resolve().parents[2]
TASK = "pressure-task"


# The commands are dispatched back to back and the bot, the Discord stand-in and the sandbox share
# one event loop: the last free pre-flight can wait behind every other command's work. Timeouts are
# sized from that work, never from one machine's speed (a 2-core machine timed out 81 of 200 free
# checks at a flat 0.5 s). The share per command is generous: on this machine it is about 5 ms.
PER_COMMAND_S = 0.05


def work_s(commands: int) -> float:
    """How long the slowest of `commands` simultaneous commands may take to be answered."""
    return 2.0 + commands * PER_COMMAND_S


async def test_many_commands_at_once_with_the_scheduler_busy_never_see_a_locked_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    count = size(50, 200)
    users_count, admin_count = 10, 5
    budget_s = work_s(count + users_count + admin_count)
    async with bot_world(tmp_path, duration_s=0.2, api_requests_per_s=1000.0,
                         crun_timeout_s=budget_s) as world:
        await world.set_rules(max_open_per_user=1000, cooldown_s=0)
        users = [world.standin.add_member(world.guild, f"member{i}") for i in range(users_count)]
        world.sandbox.add_music_task(TASK, [(f"song-{i}", f"Song {i}") for i in range(count)])

        asked = [  # dispatched back to back: the bot handles them all at once
            await world.separate(users[i % len(users)], task=TASK, song=f"song-{i}")
            for i in range(count)
        ]
        readers = [await world.command("stems list", user=u) for u in users]
        admin = [await world.command("stems config", {"daily_limit": 1000 + i}, user=world.admin)
                 for i in range(admin_count)]
        for interaction in asked:
            await answered(interaction, timeout_s=budget_s)
        for interaction in readers + admin:
            await interaction.wait_response(timeout_s=budget_s)

        # The campaign's invariant: nobody is ever shown (or logs) a locked database.
        replies = [m.text for m in world.standin.messages]
        assert not [t for t in replies if "locked" in t or GENERIC_ERROR in t]
        # Apart from it: every command finished in time (its embed came).
        late = [i for i in asked if not [m for m in i.followups if m.embeds]]
        assert late == [], (f"{len(late)} of {count} commands got no embed within {budget_s} s:"
                             f" {[shown(i) for i in late][:3]}")
        jobs = await world.bot.engine.store.recent_jobs(limit=10 * count)
        for job in jobs:
            await world.result(tagged(job.id), timeout_s=budget_s)
        await world.settle()

        assert len(jobs) == count and world.creates() == count
        posted = [m.text for m in world.posted()]
        for job in jobs:
            [sub] = await world.subscriptions(job.id)
            assert sub.delivery == Delivery.CHANNEL
            assert sum(f"`#{job.id}`" in t for t in posted) == 1
        assert await sqlite(world.bot.engine.store).scalar("PRAGMA integrity_check") == "ok"
        assert world.standin.errors == []
        assert not [m.text for m in world.standin.messages if "locked" in m.text]
    logged = [r for r in caplog.records if "locked" in r.getMessage() or r.levelno >= logging.ERROR]
    assert logged == [], [r.getMessage() for r in logged]
    report(CampaignReport("6 db: concurrent writers", count, count + users_count + admin_count,
                          0, 0, world.creates() - count))


def shown(interaction: Interaction) -> str:
    texts = [m.text for m in [interaction.original, *interaction.followups] if m is not None]
    return " | ".join(t for t in texts if t)


async def answered(interaction: Interaction, timeout_s: float) -> None:
    """Until the command's answer: its public status (with an embed), or a private text."""
    await interaction.notifier.wait_for(
        lambda: True if [m for m in interaction.followups if m.embeds] or (
            interaction.original is not None and not interaction.original.loading
            and "is accepted" not in interaction.original.text
        ) else None,
        timeout_s, f"the answer to interaction {interaction.id}",
    )


def tagged(job_id: int) -> Callable[[Message], bool]:
    return lambda m: f"`#{job_id}`" in m.text


# --- failing loudly at start ---------------------------------------------------------------


def stembot(database: Path, *args: str, file_size_limit: int | None = None
            ) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` on `database`, optionally on a "disk" that fills at the given size."""

    def limit() -> None:  # runs in the child only
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "DATABASE_PATH": str(database)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=database.parent, env=env, capture_output=True,
        text=True, timeout=30, preexec_fn=limit, check=False,
    )


def test_a_newer_schema_stops_the_jobs_command_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")

    done = stembot(path, "jobs")

    assert done.returncode != 0
    assert "schema version 99, newer than this stembot knows" in done.stderr
    with sqlite3.connect(path) as db:  # untouched: no tables made, version kept
        assert db.execute("PRAGMA user_version").fetchone() == (99,)
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_a_full_disk_stops_the_jobs_command_at_start_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"

    done = stembot(path, "jobs", file_size_limit=8192)  # room for two pages, not the schema

    assert done.returncode != 0
    assert "the database is not usable" in done.stderr
    assert "disk I/O error" in done.stderr or "disk is full" in done.stderr
    assert "job" not in done.stdout  # no listing was printed as if all were well


async def test_a_newer_schema_refuses_the_engine_before_any_api_call(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    sandbox = Sandbox()
    async with await serve(sandbox) as server:
        with pytest.raises(StoreError, match="newer than this stembot knows"):
            await Engine.open(make_settings(path, server.base_url), Recorder())
    assert sum(sandbox.calls.values()) == 0


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the file unwritable even for root (chattr +i), or by mode for anyone else."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False,
                                        capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot make a file immutable here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


async def test_a_read_only_database_fails_loudly_at_open(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    await (await JobStore.open(path)).close()

    with read_only(path), pytest.raises(StoreError, match=r"readonly|read-only"):
        store = await JobStore.open(path)
        await store.close()
