"""Operator commands without Discord: `jobs` to inspect the database, `purge` for retention."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

import aiohttp

from bot.api import StemApi
from bot.config import Settings
from bot.errors import BAD_REPLY, NO_REPLY, ApiError
from bot.jobs import Job, JobState
from bot.said import api_words
from bot.store import Store, StoreError, open_store

# token -> (bot name, invite URL); raises when Discord refuses the token
Identity = Callable[[str], Awaitable[tuple[str, str]]]


async def check(settings: Settings, identity: Identity, out: TextIO = sys.stdout) -> int:
    """Try every outside dependency once; say what works, and exit non-zero naming what doesn't."""
    problems = [
        p for p in (
            await _check_database(settings, out),
            await _check_api(settings, out),
            await _check_discord(settings, identity, out),
        ) if p
    ]
    for problem in problems:
        print(f"FAIL {problem}", file=out)
    print("all checks passed" if not problems else f"{len(problems)} check(s) failed", file=out)
    return 1 if problems else 0


async def _check_database(settings: Settings, out: TextIO) -> str | None:
    try:
        store = await open_store(settings, exclusive=False)
        try:
            await store.set_meta("last_check", str(time.time()))  # proves it is writable
        finally:
            await store.close()
    except (StoreError, OSError) as exc:
        return f"{'DATABASE_URL' if settings.database_url else 'DATABASE_PATH'}: {exc}"
    where = "PostgreSQL (DATABASE_URL)" if settings.database_url else settings.database_path
    print(f"ok   database {where} is writable", file=out)
    return None


async def _check_api(settings: Settings, out: TextIO) -> str | None:
    async with aiohttp.ClientSession() as session:
        api = StemApi(session, base_url=settings.crun_api_base,
                      api_key=settings.crun_api_key.reveal(), model=settings.crun_model,
                      timeout_s=settings.crun_timeout_s)
        try:
            balance = await api.balance()
        except ApiError as exc:
            return _api_problem(settings.crun_api_base, exc)
    print(f"ok   crun API at {settings.crun_api_base}: key accepted, balance {balance:g} credits",
          file=out)
    return None


def _api_problem(base: str, exc: ApiError) -> str:
    """Unreachable, unreadable, or refused: each said differently, the API's words included."""
    if exc.code == NO_REPLY:
        return f"CRUN_API_BASE: the crun API at {base} could not be reached ({exc.message})"
    if exc.code == BAD_REPLY or not exc.envelope:
        return (f"CRUN_API_BASE: {base} answered, but not as the crun API does "
                f"({exc.message}); is the address right?")
    said = api_words(exc)
    words = f': "{said}"' if said else ""
    return (f"CRUN_API_KEY / CRUN_API_BASE ({base}): the API refused the call: "
            f"{exc.user_text} (code {exc.code}{words})")


async def _check_discord(settings: Settings, identity: Identity, out: TextIO) -> str | None:
    try:
        name, invite = await identity(settings.discord_token.reveal())
    except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
        return (f"DISCORD_TOKEN: Discord could not be reached, so the token was not checked "
                f"({type(exc).__name__}: {exc})")
    except Exception as exc:
        return f"DISCORD_TOKEN: Discord did not accept it ({type(exc).__name__}: {exc})"
    print(f"ok   Discord token accepted: logged in as {name}", file=out)
    print(f"     invite URL: {invite}", file=out)
    return None


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
    store = await open_store(settings, exclusive=False)
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


async def _detail(store: Store, job: Job, out: TextIO) -> None:
    print(job_row(job), file=out)
    for name in ("remote_id", "submitted_at", "finished_at", "error", "error_detail", "credits",
                 "poll_count"):
        print(f"  {name}: {getattr(job, name)}", file=out)
    for stem in job.stems:
        print(f"  stem {stem.label}: {stem.url}", file=out)
    for sub in await store.subscriptions(job.id):
        print(f"  requester {sub.user_id} in channel {sub.channel_id}: {sub.delivery.value}"
              f" after {sub.attempts} attempts{f' ({sub.detail})' if sub.detail else ''}",
              file=out)


async def purge(settings: Settings, older_than_days: float, out: TextIO = sys.stdout) -> int:
    store = await open_store(settings, exclusive=False)
    try:
        removed = await store.purge_finished(time.time() - older_than_days * 24 * 3600)
    finally:
        await store.close()
    print(f"deleted {removed} finished jobs older than {older_than_days:g} days", file=out)
    return 0


async def migrate_db(settings: Settings, target: str, out: TextIO = sys.stdout) -> int:
    """Copy DATABASE_PATH into the empty PostgreSQL database `target`; print the rows copied."""
    from bot.store.migrate import copy_to_postgres  # loads asyncpg only for this command

    if not target.startswith(("postgresql://", "postgres://")):
        print("stembot: --to must be a postgresql:// address", file=sys.stderr)
        return 2
    counts = await copy_to_postgres(settings.database_path, target)
    for table, rows in counts.items():
        print(f"copied {rows:>8} {table}", file=out)
    print(f"done: {settings.database_path} is copied and the row counts match. Set "
          "DATABASE_URL to the new database to use it.", file=out)
    return 0
