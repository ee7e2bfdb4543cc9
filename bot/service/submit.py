"""Submission: validate, check the source for free, dedupe, record, then CreateTask exactly once."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from bot.api import MusicTask, Song, StemApi
from bot.errors import ApiError, UserError
from bot.i18n import _
from bot.jobs import Delivery, Job, JobState, Mode, RemoteState
from bot.rate import RequestRate
from bot.rules import check_access, check_spending
from bot.service.create import Creator
from bot.service.followup import FollowUp, Unsettled, Viewer
from bot.service.ids import describe_songs, inert
from bot.service.locks import SongLocks
from bot.service.request import Limits, MadeMeanwhile, Outcome, Request, Submission
from bot.songs import SongSource
from bot.store import Admit, Cancelled, Store, StoreError
from bot.store.turns import for_a_member

log = logging.getLogger(__name__)

# What a separation is expected to cost until the API says (peer resellers' prices).
ESTIMATED_CREDITS = {Mode.VOCAL: 1.0, Mode.INSTRUMENTAL: 5.0}

ESTIMATE_TIMEOUT_S = 2.0  # a quote is asked before the confirmation prompt


class SubmitService:
    """Turns a request into at most one paid CreateTask and a durable job."""

    def __init__(
        self,
        store: Store,
        api: StemApi,
        *,
        result_ttl_s: float,
        deadline_s: float,
        callback_url: Callable[[str], str | None] = lambda token: None,
        clock: Callable[[], float] = time.time,
        songs: SongSource | None = None,
        rate: RequestRate,
        owner: str | None = None,
    ) -> None:
        self._songs = songs or api  # the cached, rate-limited song lists (bot/songs.py)
        self._clock = clock
        self._store = store
        self._api = api
        self._result_ttl_s = result_ttl_s
        self._deadline_s = deadline_s
        self._locks = SongLocks()
        self._rate = rate  # user-triggered calls take a place in it, ahead of polls
        # Jobs whose CreateTask is in flight in this process (any other `submitting` job is
        # dead: nobody may join it), and answers the file could not be made to say.
        unsettled = Unsettled()
        self.jobs = FollowUp(store, api, deadline_s=deadline_s, clock=clock,
                             unsettled=unsettled, owner=owner)
        self._creator = Creator(store, api, self.jobs, unsettled,
                                callback_url=callback_url)

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

    @for_a_member
    async def submit(self, request: Request, *, limits: Limits | None = None) -> Submission:
        key = (request.music_task_id, request.song_id, request.mode)
        async with self._locks.hold(key):
            return await self._submit(request, request.music_task_id, request.song_id, limits)

    @for_a_member
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

    @for_a_member
    async def check_limits(
        self, request: Request, limits: Limits, cost: float | None = None
    ) -> None:
        """Raise UserError when the member may not ask (role, mode, cooldown, open jobs, daily
        limit) or, given a cost, when it would break the server's budget."""
        now = self._clock()
        usage = await self._store.usage(
            request.guild_id or 0, request.user_id or 0, limits.rules, now
        )
        check_access(limits.rules, limits.member, request.mode, now, usage)
        if cost is not None:
            check_spending(limits.rules, usage, cost, now)

    async def estimate(self, request: Request, timeout_s: float = ESTIMATE_TIMEOUT_S) -> float:
        """What the request would cost: the API's quote, or our estimate when it has none."""
        try:
            quoted = await asyncio.wait_for(self._quote(request), timeout_s)
        except (ApiError, TimeoutError):
            quoted = None
        return quoted if quoted is not None else ESTIMATED_CREDITS[request.mode]

    async def _quote(self, request: Request) -> float | None:
        async with self._rate.slot():
            return await self._api.estimate_credits(
                request.music_task_id, request.song_id, request.mode
            )

    async def balance(self) -> float:
        """The API account's credit balance (shared by every server)."""
        async with self._rate.slot():
            return await self._api.balance()

    @for_a_member
    async def cancel(self, job: Job, viewer: Viewer) -> Cancelled:
        """Stop the viewer's pings, and the polling once nobody waits. UserError when there
        is nothing to stop: the job is being submitted right now, or already ended."""
        done = await self.jobs.cancel(job, viewer)
        if done.ended:
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
        # CreateTask's place in the budget first: waiting for it leaves no unsent job on record.
        place = await self._rate.place()
        try:
            job = await self._record(request, song.title, token, estimate, limits)
        except BaseException as exc:
            place.unused()  # refused, beaten to it, or stopped: nothing was sent
            if not isinstance(exc, StoreError | MadeMeanwhile):
                raise
            # Another process recorded this song first (its lock is not ours), or even finished
            # it while we checked the song: join or reuse that job, never pay twice.
            shared = await self._join_or_reuse(request, music_task_id, song_id)
            if shared is None:
                raise
            return shared
        return Submission(await self._creator.create(job, token, place), Outcome.CREATED)

    async def _record(
        self, request: Request, title: str, token: str, estimate: float, limits: Limits | None
    ) -> Job:
        return await self._store.create_job(
            music_task_id=request.music_task_id,
            song_id=request.song_id,
            mode=request.mode,
            song_title=title,
            guild_id=request.guild_id,
            channel_id=request.channel_id,
            requester_id=request.user_id,
            callback_token=token,
            estimated_credits=estimate,
            admit=self._admit(request, limits, estimate),
            locale=request.locale,
        )

    def _admit(self, request: Request, limits: Limits | None, cost: float) -> Admit:
        """Inside the recording transaction: a result another process finished meanwhile is
        reused, not paid again; usage is re-read and a limit refuses there, or it may pay."""

        async def admit() -> None:
            if await self._store.find_reusable(request.music_task_id, request.song_id,
                                               request.mode, max_age_s=self._result_ttl_s):
                raise MadeMeanwhile
            if limits is not None:
                await self.check_limits(request, limits, cost)

        return admit

    async def _join_or_reuse(
        self, request: Request, music_task_id: str, song_id: str
    ) -> Submission | None:
        running = await self._store.find_open(music_task_id, song_id, request.mode)
        if running is not None and running.state == JobState.SUBMITTING and not (
            await self.jobs.in_flight(running)
        ):
            # We hold this song's lock, and no process is submitting it: its submitter died.
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
            locale=request.locale,
        )
