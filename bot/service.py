"""Submission: validate, check the source for free, dedupe, record, then CreateTask exactly once."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.api import MusicTask, Song, StemApi
from bot.errors import ApiError, UnconfirmedSubmission, UserError
from bot.jobs import Delivery, Job, JobState, Mode, RemoteState
from bot.songs import SongSource
from bot.store import JobStore

log = logging.getLogger(__name__)

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SONG_LINK = re.compile(
    r"(?:https?://)?(?:www\.|app\.)?suno\.com/song/([A-Za-z0-9_-]{1,128})/?(?:[?#]\S*)?",
    re.IGNORECASE,
)

# What a separation is expected to cost until the API says (peer resellers' prices).
ESTIMATED_CREDITS = {Mode.VOCAL: 1.0, Mode.INSTRUMENTAL: 5.0}

Guard = Callable[[Mode, float], Awaitable[None]]  # raises UserError to refuse before paying
Track = Callable[[Job], None]


class Outcome(StrEnum):
    CREATED = "created"  # a new paid job
    JOINED = "joined"  # someone else's job for the same song is running; you will be told too
    REUSED = "reused"  # a finished result, at no cost


@dataclass(frozen=True)
class Request:
    music_task_id: str
    song_ref: str  # an id or a suno.com song link
    mode: Mode
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class Submission:
    job: Job
    outcome: Outcome


def clean_music_task_id(raw: str) -> str:
    value = raw.strip()
    if not _ID.fullmatch(value):
        raise UserError(
            "That task id doesn't look right: use the id of a finished Suno music task "
            "(1-128 letters, digits, `-` or `_`)."
        )
    return value


def clean_song_id(raw: str) -> str:
    value = raw.strip()
    link = _SONG_LINK.fullmatch(value)
    if link:
        return link.group(1)
    if not _ID.fullmatch(value):
        raise UserError(
            "That song id doesn't look right: use the song's id or its "
            "`https://suno.com/song/…` link."
        )
    return value


def describe_songs(task: MusicTask) -> str:
    listed = ", ".join(f"`{s.song_id}` ({s.title})" for s in task.songs)
    return listed or "no songs"


class SubmitService:
    """Turns a request into at most one paid CreateTask and a durable job."""

    def __init__(
        self,
        store: JobStore,
        api: StemApi,
        *,
        result_ttl_s: float,
        deadline_s: float,
        track: Track,
        callback_url: Callable[[str], str | None] = lambda token: None,
        clock: Callable[[], float] = time.time,
        songs: SongSource | None = None,
    ) -> None:
        self._songs = songs or api  # the cached, budgeted song lists (bot/songs.py)
        self._clock = clock
        self._store = store
        self._api = api
        self._result_ttl_s = result_ttl_s
        self._deadline_s = deadline_s
        self._track = track
        self._callback_url = callback_url
        self._locks: dict[tuple[str, str, Mode], asyncio.Lock] = {}

    async def check_source(self, music_task_id: str, song_id: str) -> tuple[MusicTask, Song]:
        """Free TaskInfo: the music task exists, is a finished Suno task, and holds the song."""
        try:
            task = await self._songs.music_task(music_task_id)
        except ApiError as exc:
            if exc.code in (404, 422):
                raise UserError(
                    f"No music task `{music_task_id}` was found on this account."
                ) from exc
            raise
        if task.provider and task.provider.lower() != "suno":
            raise UserError(f"Task `{music_task_id}` is not a Suno music task.")
        if task.state in (RemoteState.PENDING, RemoteState.RUNNING, RemoteState.UNKNOWN):
            raise UserError(f"Music task `{music_task_id}` hasn't finished yet; try again soon.")
        if task.state == RemoteState.FAILED:
            raise UserError(f"Music task `{music_task_id}` failed, so it has no songs to split.")
        song = task.song(song_id)
        if song is None:
            raise UserError(
                f"Song `{song_id}` is not in task `{music_task_id}`. "
                f"It holds: {describe_songs(task)}."
            )
        return task, song

    async def submit(self, request: Request, *, guard: Guard | None = None) -> Submission:
        music_task_id = clean_music_task_id(request.music_task_id)
        song_id = clean_song_id(request.song_ref)
        key = (music_task_id, song_id, request.mode)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._submit(request, music_task_id, song_id, guard)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def _submit(
        self, request: Request, music_task_id: str, song_id: str, guard: Guard | None
    ) -> Submission:
        shared = await self._join_or_reuse(request, music_task_id, song_id)
        if shared is not None:
            return shared
        _, song = await self.check_source(music_task_id, song_id)
        estimate = ESTIMATED_CREDITS[request.mode]
        if guard is not None:
            await guard(request.mode, estimate)
        token = secrets.token_urlsafe(24)
        job = await self._store.create_job(
            music_task_id=music_task_id,
            song_id=song_id,
            mode=request.mode,
            song_title=song.title,
            guild_id=request.guild_id,
            channel_id=request.channel_id,
            requester_id=request.user_id,
            callback_token=token,
            estimated_credits=estimate,
        )
        return Submission(await self._create_remote(job, token), Outcome.CREATED)

    async def _join_or_reuse(
        self, request: Request, music_task_id: str, song_id: str
    ) -> Submission | None:
        running = await self._store.find_open(music_task_id, song_id, request.mode)
        if running is not None:
            await self._subscribe(running, request, Delivery.WAITING)
            return Submission(running, Outcome.JOINED)
        done = await self._store.find_reusable(
            music_task_id, song_id, request.mode, max_age_s=self._result_ttl_s
        )
        if done is not None:
            await self._subscribe(done, request, Delivery.SHOWN)
            return Submission(done, Outcome.REUSED)
        return None

    async def _subscribe(self, job: Job, request: Request, delivery: Delivery) -> None:
        await self._store.subscribe(
            job,
            user_id=request.user_id,
            guild_id=request.guild_id,
            channel_id=request.channel_id,
            delivery=delivery,
        )

    async def _create_remote(self, job: Job, token: str) -> Job:
        """The one paid call. Sent once; whatever happens, never sent again for this job."""
        try:
            remote_id = await self._api.create_separation(
                job.music_task_id, job.song_id, job.mode, callback_url=self._callback_url(token)
            )
        except ApiError as exc:
            await self._fail_submission(job, exc)
            if not exc.proves_nothing_made:
                raise UnconfirmedSubmission(
                    exc.code, exc.message, http_status=exc.http_status
                ) from exc
            raise
        job = await self._store.move(
            job,
            JobState.RUNNING,
            remote_id=remote_id,
            submitted_at=self._clock(),
            deadline_at=job.created_at.timestamp() + self._deadline_s,
        )
        self._track(job)
        return job

    async def _fail_submission(self, job: Job, exc: ApiError) -> None:
        if not exc.proves_nothing_made:
            # The request may have reached the API and been charged; we cannot know.
            reason = UnconfirmedSubmission.TEXT
        else:
            reason = exc.user_text
            await self._store.refund(job.id)
        # The requester reads the error in the command's reply: no separate delivery.
        await self._store.move(job, JobState.FAILED, error=reason, told=True)
