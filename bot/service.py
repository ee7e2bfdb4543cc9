"""Submission: validate, check the source for free, dedupe, record, then CreateTask exactly once."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.api import MusicTask, Song, StemApi
from bot.errors import BAD_REPLY, ApiError, UnconfirmedSubmission, UserError
from bot.guild_store import read_usage
from bot.i18n import _, listed, ngettext
from bot.jobs import Delivery, Job, JobState, Mode, RemoteState
from bot.rules import GuildRules, Member, check_access, check_spending
from bot.service_jobs import FollowUp, SongLocks, Viewer
from bot.songs import SongSource
from bot.store import Admit, Cancelled, JobStore

log = logging.getLogger(__name__)

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SONG_LINK = re.compile(
    r"(?:https?://)?(?:www\.|app\.)?suno\.com/song/([A-Za-z0-9_-]{1,128})/?(?:[?#]\S*)?",
    re.IGNORECASE,
)

# What a separation is expected to cost until the API says (peer resellers' prices).
ESTIMATED_CREDITS = {Mode.VOCAL: 1.0, Mode.INSTRUMENTAL: 5.0}

Track = Callable[[Job], None]
ESTIMATE_TIMEOUT_S = 2.0  # a quote is asked before the confirmation prompt
RECORD_ATTEMPTS = 3  # writing an accepted job's remote id: a failed write is tried again at once


class Outcome(StrEnum):
    CREATED = "created"  # a new paid job
    JOINED = "joined"  # someone else's job for the same song is running; you will be told too
    REUSED = "reused"  # a finished result, at no cost


@dataclass(frozen=True)
class Request:
    """What a member asked for. The ids are cleaned once, as the request is made (UserError when
    they can't be ids), so every later step reads plain ids."""

    music_task_id: str
    song_id: str  # given as an id or a suno.com song link; kept as the id
    mode: Mode
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "music_task_id", clean_music_task_id(self.music_task_id))
        object.__setattr__(self, "song_id", clean_song_id(self.song_id))


@dataclass(frozen=True)
class Limits:
    """The server's rules and the member asking: checked in the transaction that records the
    charge, so requests sent together cannot pass a limit between them."""

    rules: GuildRules
    member: Member


@dataclass(frozen=True)
class Submission:
    job: Job
    outcome: Outcome


def clean_music_task_id(raw: str) -> str:
    value = raw.strip()
    if not _ID.fullmatch(value):
        raise UserError(_(
            "That music task id doesn't look right: use the id of a finished Suno music task "
            "(1-128 letters, digits, `-` or `_`)."
        ))
    return value


def clean_song_id(raw: str) -> str:
    value = raw.strip()
    link = _SONG_LINK.fullmatch(value)
    if link:
        return link.group(1)
    if not _ID.fullmatch(value):
        raise UserError(_(
            "That song id doesn't look right: use the song's id or its "
            "`https://suno.com/song/…` link."
        ))
    return value


SONGS_LISTED = 5  # a music task holds at most 2; a hostile reply must not overflow the message
# Inline markup only: the list is one line, so line-start syntax (#, >, -) can't apply.
_MARKUP = re.compile(r"([\\*_~`|\[\]<])")


def inert(text: str, limit: int = 80) -> str:
    """API text made plain for Discord: markdown escaped, mentions broken, one bounded line.

    bot/ does not import discord, so this is a small cousin of the cog's `safe`.
    """
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[: limit - 1] + "…"
    return _MARKUP.sub(r"\\\1", line).replace("@", "@\u200b")


def _song_ref(song_id: str) -> str:
    return f"`{song_id}`" if _ID.fullmatch(song_id) else inert(song_id)


def describe_songs(task: MusicTask) -> str:
    shown = task.songs[:SONGS_LISTED]
    named = [f"{_song_ref(s.song_id)} ({inert(s.title)})" for s in shown]
    more = len(task.songs) - len(shown)
    if more > 0:
        named.append(ngettext("{n} more", "{n} more", more))
    return listed(named) or _("no songs")


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
        forget: Callable[[int], None] = lambda job_id: None,
        callback_url: Callable[[str], str | None] = lambda token: None,
        clock: Callable[[], float] = time.time,
        songs: SongSource | None = None,
    ) -> None:
        self._songs = songs or api  # the cached, rate-limited song lists (bot/songs.py)
        self._clock = clock
        self._store = store
        self._api = api
        self._result_ttl_s = result_ttl_s
        self._deadline_s = deadline_s
        self._track = track
        self._forget = forget
        self._callback_url = callback_url
        self._locks = SongLocks()
        # Jobs whose CreateTask is in flight in this process; any other `submitting` job is
        # dead (its submission crashed): nobody may join it.
        self._submitting: set[int] = set()
        # Jobs the API accepted but whose remote id could not be written: job id -> remote id.
        self._stranded: dict[int, str] = {}
        self.jobs = FollowUp(store, api, deadline_s=deadline_s, track=track, clock=clock,
                             is_submitting=self._submitting.__contains__,
                             stranded=self._stranded)

    async def check_source(self, music_task_id: str, song_id: str) -> tuple[MusicTask, Song]:
        """Free TaskInfo: the music task exists, is a finished Suno task, and holds the song.

        Where the song list can't be read, the song check is left to the API: its 422 proves
        nothing was made. A look-up that can't read the list never refuses on its own.
        """
        try:
            task = await self._songs.music_task(music_task_id)
        except ApiError as exc:
            if exc.code in (404, 422):
                raise UserError(
                    _("No music task `{task}` was found.", task=music_task_id)
                ) from exc
            raise
        if task.provider and task.provider.lower() != "suno":
            raise UserError(_("Task `{task}` is not a Suno music task.", task=music_task_id))
        if task.state in (RemoteState.PENDING, RemoteState.RUNNING, RemoteState.UNKNOWN):
            raise UserError(_("Music task `{task}` hasn't finished yet; try again soon.",
                              task=music_task_id))
        if task.state == RemoteState.FAILED:
            raise UserError(_("Music task `{task}` failed, so it has no songs to split.",
                              task=music_task_id))
        song = task.song(song_id)
        if song is None and not task.songs_readable:
            return task, Song(song_id, "", None, None, None)  # no title known: shown by its id
        if song is None:
            raise UserError(_(
                "Song `{song}` is not in music task `{task}`. It holds: {songs}.",
                song=song_id, task=music_task_id, songs=describe_songs(task),
            ))
        return task, song

    async def submit(self, request: Request, *, limits: Limits | None = None) -> Submission:
        key = (request.music_task_id, request.song_id, request.mode)
        async with self._locks.hold(key):
            return await self._submit(request, request.music_task_id, request.song_id, limits)

    async def join_or_reuse(self, request: Request) -> Submission | None:
        """Join a running job for the same song, or reuse a finished result: free, so no
        confirmation is needed. None: the request would pay (nothing was recorded)."""
        key = (request.music_task_id, request.song_id, request.mode)
        if self._locks.busy(key):
            # This runs before the first response: never wait behind a submission that may
            # wait up to the API timeout. The submit that follows joins it, under the lock.
            return None
        async with self._locks.hold(key):
            return await self._join_or_reuse(request, request.music_task_id, request.song_id)

    async def check_limits(
        self, request: Request, limits: Limits, cost: float | None = None
    ) -> None:
        """Raise UserError when the member may not ask (role, mode, cooldown, open jobs, daily
        limit) or, given a cost, when it would break the server's budget."""
        now = self._clock()
        usage = await read_usage(
            self._store, request.guild_id or 0, request.user_id or 0, limits.rules, now
        )
        check_access(limits.rules, limits.member, request.mode, now, usage)
        if cost is not None:
            check_spending(limits.rules, usage, cost, now)

    async def estimate(self, request: Request, timeout_s: float = ESTIMATE_TIMEOUT_S) -> float:
        """What the request would cost: the API's quote, or our estimate when it has none."""
        try:
            quoted = await asyncio.wait_for(
                self._api.estimate_credits(request.music_task_id, request.song_id, request.mode),
                timeout_s,
            )
        except (ApiError, TimeoutError):
            quoted = None
        return quoted if quoted is not None else ESTIMATED_CREDITS[request.mode]

    async def balance(self) -> float:
        """The API account's credit balance (shared by every server)."""
        return await self._api.balance()

    async def cancel(self, job: Job, viewer: Viewer) -> Cancelled:
        """Stop the viewer's pings, and the polling once nobody waits. UserError when there
        is nothing to stop: the job is being submitted right now, or already ended."""
        done = await self.jobs.cancel(job, viewer)
        if done.ended:
            self._forget(job.id)
            return done
        if done.job.state == JobState.SUBMITTING:
            raise UserError(_("Job `#{job}` ({title}) is starting right now; try again shortly.",
                              job=job.id, title=inert(job.song_title or job.song_id)))
        if not done.job.is_open:
            raise UserError(_("Job `#{job}` ({title}) has already ended.", job=job.id,
                              title=inert(job.song_title or job.song_id)))
        return done

    async def _submit(
        self, request: Request, music_task_id: str, song_id: str, limits: Limits | None
    ) -> Submission:
        shared = await self._join_or_reuse(request, music_task_id, song_id)
        if shared is not None:
            return shared
        _, song = await self.check_source(music_task_id, song_id)
        estimate = ESTIMATED_CREDITS[request.mode]
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
            admit=None if limits is None else self._admit(request, limits, estimate),
        )
        return Submission(await self._create_remote(job, token), Outcome.CREATED)

    def _admit(self, request: Request, limits: Limits, cost: float) -> Admit:
        """Re-read usage inside the recording transaction and refuse there, or let it pay."""

        async def admit() -> None:
            await self.check_limits(request, limits, cost)

        return admit

    async def _join_or_reuse(
        self, request: Request, music_task_id: str, song_id: str
    ) -> Submission | None:
        running = await self._store.find_open(music_task_id, song_id, request.mode)
        if running is not None and running.state == JobState.SUBMITTING:
            # We hold this song's lock, so its submission is not in flight: it crashed.
            running = await self.jobs.settle_dead(running)
        if running is not None and running.is_open:
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
        self._submitting.add(job.id)
        try:
            remote_id = await self._send(job, token)
            return await self._record_remote(job, remote_id)
        finally:
            self._submitting.discard(job.id)

    async def _send(self, job: Job, token: str) -> str:
        try:
            return await self._api.create_separation(
                job.music_task_id, job.song_id, job.mode, callback_url=self._callback_url(token)
            )
        except ApiError as exc:
            await self._end_unsent(job, exc)
            if not exc.proves_nothing_made:
                raise UnconfirmedSubmission(
                    exc.code, exc.message, http_status=exc.http_status
                ) from exc
            raise
        except Exception as exc:
            # The request went out; reading the answer crashed. It may have been charged.
            log.exception("job %d: reading the CreateTask answer crashed", job.id)
            unconfirmed = UnconfirmedSubmission(BAD_REPLY, "the reply could not be read")
            await self._end_unsent(job, unconfirmed)
            raise unconfirmed from exc

    async def _end_unsent(self, job: Job, exc: ApiError) -> None:
        """No remote id: a refusal ends the job refunded; anything else ends it interrupted
        (charge kept; a callback naming the job can still bring it back). The requester reads
        the outcome in the command's reply; anyone else waiting is told by a delivery.

        A write that keeps failing is raised instead of `exc`: the job is still open in the
        file, so whoever settles it later tells the requester by a delivery. Telling them the
        outcome in the reply as well would tell them twice."""
        state, error = self._unsent_end(exc)
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._store.move(
                    job, state, error=error, told=True, refund=exc.proves_nothing_made
                )
                return
            except Exception:
                written = await self.jobs.reread(job.id)
                if written is not None and written.state != JobState.SUBMITTING:
                    return  # the write went through; only what came after it failed
                if attempt == RECORD_ATTEMPTS:
                    log.exception("job %d: could not record the failed submission", job.id)
                    raise
                log.warning("job %d: recording the failed submission failed; trying again",
                            job.id, exc_info=True)

    @staticmethod
    def _unsent_end(exc: ApiError) -> tuple[JobState, str]:
        if exc.proves_nothing_made:
            return JobState.FAILED, exc.user_text
        return JobState.INTERRUPTED, UnconfirmedSubmission.TEXT

    async def _record_remote(self, job: Job, remote_id: str) -> Job:
        # Durable before anything else can fail: this line names the paid separation.
        log.info("job %d: remote_id %s", job.id, remote_id)
        now = self._clock()
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                job = await self._store.move(
                    job, JobState.RUNNING, remote_id=remote_id, submitted_at=now,
                    deadline_at=job.created_at.timestamp() + self._deadline_s,
                )
                break
            except Exception:
                written = await self.jobs.reread(job.id)
                if written is not None and written.remote_id == remote_id:
                    job = written  # the write went through; only what came after it failed
                    break
                if attempt == RECORD_ATTEMPTS:
                    self._stranded[job.id] = remote_id  # the next request for it revives it
                    raise
                log.warning("job %d: recording remote id failed; trying again", job.id,
                            exc_info=True)
        self._track(job)
        return job
