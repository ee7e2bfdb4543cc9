"""`stembot separate`: the engine without Discord, with progress in the terminal."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.engine import Engine, sandbox_settings
from bot.errors import ApiError, UserError
from bot.jobs import Job, JobState, Mode
from bot.said import api_words
from bot.sandbox import Sandbox, serve
from bot.service import Outcome, Request

PROGRESS_EVERY_S = 5.0


async def separate(
    settings: Settings,
    music_task_id: str,
    song: str,
    mode: Mode,
    *,
    use_sandbox: bool,
    sandbox_duration_s: float | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run one separation to the end; print `Label: URL` per stem. Returns the exit code."""
    async with AsyncExitStack() as stack:
        if use_sandbox:
            settings = await _sandboxed(stack, settings, sandbox_duration_s, err)
        # No poster: this terminal shows its own job only. Other jobs' results in the same
        # database (a Discord member's) stay due for the bot that can post them.
        engine = await Engine.open(settings)
        stack.push_async_callback(engine.close)
        ended = _Ended()
        engine.watch_jobs(ended.seen)
        await engine.start()
        try:
            submission = await engine.service.submit(Request(music_task_id, song, mode))
        except (UserError, ApiError) as exc:
            return _refused(exc, err)
        job = submission.job
        if submission.outcome == Outcome.REUSED:
            print(f"job {job.id}: reusing a finished result; no credits spent.", file=err)
            return _report(job, out, err)
        print(f"job {job.id}: {submission.outcome} ({job.mode}, song {job.song_id}); "
              f"waiting for the API...", file=err)
        finished = await _wait(ended.of(job.id), job, err)
        code = _report(finished, out, err)
        await engine.service.jobs.shown_in_terminal(finished)
        return code


class _Ended:
    """Jobs that ended while this command ran, by id (a job may end before submit returns)."""

    def __init__(self) -> None:
        self._futures: dict[int, asyncio.Future[Job]] = {}

    def of(self, job_id: int) -> asyncio.Future[Job]:
        return self._futures.setdefault(job_id, asyncio.get_running_loop().create_future())

    def seen(self, job: Job) -> None:
        if job.state.is_terminal and not self.of(job.id).done():
            self.of(job.id).set_result(job)


async def _sandboxed(
    stack: AsyncExitStack, settings: Settings, duration_s: float | None, err: TextIO
) -> Settings:
    """Serve the bundled sandbox (closed with `stack`): settings that use it, and a
    throwaway database."""
    durations = None if duration_s is None else (lambda mode: duration_s)
    server = await serve(Sandbox(duration_s=durations))
    stack.push_async_callback(server.close)
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="stembot-demo-"))
    print(f"Using the bundled sandbox API at {server.base_url} (no credits).", file=err)
    return replace(
        sandbox_settings(settings, server.base_url), database_path=Path(folder) / "demo.sqlite3",
        database_url=None,  # never the shared database: the demo's jobs are throwaway
    )


def _refused(exc: UserError | ApiError, err: TextIO) -> int:
    """Why the request was not submitted; exit 2 for the user's input, 1 for the API."""
    if isinstance(exc, UserError):
        said = api_words(exc)
        print(f"error: {exc}" + (f' (the API said: "{said}")' if said else ""), file=err)
        return 2
    print(f"error: {exc.user_text} (API code {exc.code}: {exc.message})", file=err)
    return 1


async def _wait(finished: asyncio.Future[Job], job: Job, err: TextIO) -> Job:
    waited = 0.0
    while True:
        try:
            return await asyncio.wait_for(asyncio.shield(finished), PROGRESS_EVERY_S)
        except TimeoutError:
            waited += PROGRESS_EVERY_S
            print(f"job {job.id}: still running after {waited:.0f} s", file=err)


def _report(job: Job, out: TextIO, err: TextIO) -> int:
    if job.state != JobState.SUCCEEDED:
        said = f" ({job.error_detail})" if job.error_detail else ""
        print(f"job {job.id}: {job.state.replace('_', ' ')}: {job.error}{said}", file=err)
        return 1
    took = f" in {job.duration_s:.0f} s" if job.duration_s is not None else ""
    print(f"job {job.id}: {len(job.stems)} stems{took}", file=err)
    for stem in job.stems:
        print(f"{stem.label}: {stem.url}", file=out)
    return 0
