"""Operator commands without Discord: `jobs` to inspect the database, `purge` for retention."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from bot.config import Settings
from bot.jobs import Job, JobState
from bot.store import JobStore


def _when(job: Job) -> str:
    return job.created_at.strftime("%Y-%m-%d %H:%M:%S")


def job_row(job: Job) -> str:
    title = (job.song_title or "")[:30]
    return (f"{job.id:>6}  {job.state.value:<12} {job.mode.value:<12} {_when(job)}  "
            f"guild {job.guild_id or '-'}  {job.music_task_id}/{job.song_id}  {title}")


async def show_jobs(
    settings: Settings, job_id: int | None, state: JobState | None, limit: int,
    out: TextIO = sys.stdout,
) -> int:
    store = await JobStore.open(settings.database_path)
    try:
        if job_id is None:
            jobs = await store.recent_jobs(state=state, limit=limit)
            print(f"{'job':>6}  {'state':<12} {'mode':<12} {'created (UTC)':<19}  where", file=out)
            for job in jobs:
                print(job_row(job), file=out)
            return 0
        found = await store.get(job_id)
        if found is None:
            print(f"no job {job_id}", file=sys.stderr)
            return 1
        await _detail(store, found, out)
        return 0
    finally:
        await store.close()


async def _detail(store: JobStore, job: Job, out: TextIO) -> None:
    print(job_row(job), file=out)
    for name in ("remote_id", "submitted_at", "finished_at", "error", "credits", "poll_count"):
        print(f"  {name}: {getattr(job, name)}", file=out)
    for stem in job.stems:
        print(f"  stem {stem.label}: {stem.url}", file=out)
    for sub in await store.subscriptions(job.id):
        print(f"  requester {sub.user_id} in channel {sub.channel_id}: {sub.delivery.value}"
              f" after {sub.attempts} attempts{f' ({sub.detail})' if sub.detail else ''}",
              file=out)


async def purge(settings: Settings, older_than_days: float, out: TextIO = sys.stdout) -> int:
    store = await JobStore.open(settings.database_path)
    try:
        removed = await store.purge_finished(time.time() - older_than_days * 24 * 3600)
    finally:
        await store.close()
    print(f"deleted {removed} finished jobs older than {older_than_days:g} days", file=out)
    return 0
