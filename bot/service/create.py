"""The one paid call: send a job's CreateTask once, and write what came of it, whatever happens."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import endings
from bot.api import StemApi
from bot.durable import write_durably
from bot.errors import BAD_REPLY, ApiError, UnconfirmedSubmission
from bot.jobs import Job, JobState
from bot.rate import Place
from bot.service.followup import FollowUp, Unsettled
from bot.store import Store

log = logging.getLogger(__name__)


class Creator:
    """Sends CreateTask for a recorded job, then records the remote id or the ending."""

    def __init__(
        self,
        store: Store,
        api: StemApi,
        jobs: FollowUp,
        unsettled: Unsettled,
        *,
        callback_url: Callable[[str], str | None],
    ) -> None:
        self._store, self._api, self._jobs, self._unsettled = store, api, jobs, unsettled
        self._callback_url = callback_url

    async def create(self, job: Job, token: str, place: Place) -> Job:
        """Sent once, in `place` (taken in the request rate before the job was recorded);
        whatever happens, never sent again for this job."""
        self._unsettled.submitting.add(job.id)
        try:
            remote_id = await self._send(job, token, place)
            return await self._record_remote(job, remote_id)
        finally:
            self._unsettled.submitting.discard(job.id)

    async def _send(self, job: Job, token: str, place: Place) -> str:
        try:
            return await self._call(job, token, place)
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

    async def _call(self, job: Job, token: str, place: Place) -> str:
        try:
            return await self._api.create_separation(
                job.music_task_id, job.song_id, job.mode, callback_url=self._callback_url(token)
            )
        finally:
            place.used()

    async def _end_unsent(self, job: Job, exc: ApiError) -> None:
        """No remote id: a refusal ends the job refunded; anything else ends it interrupted
        (charge kept; a callback naming the job can still bring it back). The requester reads
        the outcome in the command's reply; anyone else waiting is told by a delivery.

        A write that keeps failing is raised instead of `exc`: the job is still open in the
        file, so whoever settles it later tells the requester by a delivery (a refusal is
        remembered, so that it still ends refunded). Telling them in the reply as well would
        tell them twice."""
        state, error = self._unsent_end(exc)

        async def write() -> Job:
            return await self._store.move(
                job, state, error=error, error_detail=exc.message or None, told=True,
                refund=exc.proves_nothing_made,
            )

        async def went_through() -> Job | None:
            written = await self._jobs.reread(job.id)
            return written if written is not None and written.state != JobState.SUBMITTING else None

        try:
            await write_durably(write, what="recording the failed submission", job_id=job.id,
                                went_through=went_through)
        except Exception:
            log.exception("job %d: could not record the failed submission", job.id)
            if exc.proves_nothing_made:
                self._unsettled.refused[job.id] = error
            raise

    @staticmethod
    def _unsent_end(exc: ApiError) -> tuple[JobState, str]:
        """The ending's code; the API's words are logged (and kept as the error's detail)."""
        if exc.proves_nothing_made:
            return JobState.FAILED, endings.refused(exc.code)
        return JobState.INTERRUPTED, endings.UNCONFIRMED

    async def _record_remote(self, job: Job, remote_id: str) -> Job:
        # Durable before anything else can fail: this line names the paid separation.
        log.info("job %d: remote_id %s", job.id, remote_id)

        async def went_through() -> Job | None:
            written = await self._jobs.reread(job.id)
            return written if written is not None and written.remote_id == remote_id else None

        try:
            running = await write_durably(lambda: self._jobs.run(job, remote_id),
                                          what="recording remote id", job_id=job.id,
                                          went_through=went_through)
        except Exception:
            self._unsettled.stranded[job.id] = remote_id  # the next request for it revives it
            raise
        return running  # the scheduler tracks it when the move is published
