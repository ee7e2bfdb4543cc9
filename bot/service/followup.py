"""After submission: who sees a job, cancelling, re-checking an ended job, adopting a lost one."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot import endings
from bot.api import StemApi
from bot.errors import ApiError, UserError
from bot.i18n import _
from bot.jobs import Delivery, Job, JobState, RemoteState
from bot.service.status import PublicStatuses
from bot.store import Cancelled, Store, StoreError
from bot.store.turns import for_a_member

log = logging.getLogger(__name__)

_REMOTE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
RECHECKABLE = frozenset({JobState.FAILED, JobState.TIMED_OUT})


@dataclass
class Unsettled:
    """What this process knows of submissions that the file does not (yet) say."""

    submitting: set[int] = field(default_factory=set)  # CreateTask in flight here
    stranded: dict[int, str] = field(default_factory=dict)  # accepted; remote id not written
    refused: dict[int, str] = field(default_factory=dict)  # refused (its code); not written


@dataclass(frozen=True)
class Viewer:
    """Who looks at a job: a member, in a server (None: in a DM), perhaps its admin."""

    user_id: int
    guild_id: int | None
    is_admin: bool = False


class FollowUp(PublicStatuses):
    """Decisions about existing jobs, in one place for every command and button; the public
    status messages' door (PublicStatuses)."""

    def __init__(
        self,
        store: Store,
        api: StemApi,
        *,
        deadline_s: float,
        unsettled: Unsettled,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self._store, self._api, self._deadline_s = store, api, deadline_s
        self._unsettled, self._clock = unsettled, clock
        self._owner = owner  # this process's lease name when several share the database

    async def in_flight(self, job: Job) -> bool:
        """A `submitting` job whose CreateTask is on its way: in this process, or in another
        live one (it holds the job's lease). Any other `submitting` job is dead."""
        if job.id in self._unsettled.submitting:
            return True
        if self._owner is None:
            return False  # one process: nobody else submits
        return await self._store.lease_holder(job.id) not in (None, self._owner)

    async def reread(self, job_id: int) -> Job | None:
        try:
            return await self._store.get(job_id)
        except Exception:
            log.warning("job %d: could not be read back", job_id, exc_info=True)
            return None

    # --- visibility: one rule for status, cancel and Refresh -------------------------------

    @for_a_member
    async def visible_job(self, job_id: int, viewer: Viewer) -> Job | None:
        """The job, if `viewer` asked for it (from any server), or is an admin of a server
        one of whose members asked for it. Otherwise None: it is not theirs to see."""
        job = await self._store.get(job_id)
        if job is None:
            return None
        subs = await self._store.subscriptions(job_id)
        if any(s.user_id == viewer.user_id for s in subs):
            return job
        if viewer.is_admin and viewer.guild_id is not None and any(
            s.guild_id == viewer.guild_id for s in subs
        ):
            return job
        return None

    async def asked_in(self, job_id: int, guild_id: int | None) -> bool:
        """Did a member of this server ask for the job? (to explain a refusal, not to allow)"""
        subs = await self._store.subscriptions(job_id)
        return guild_id is not None and any(s.guild_id == guild_id for s in subs)

    @for_a_member
    async def delivery_note(self, job: Job, user_id: int) -> str | None:
        """Why the viewer is reading a result here: it could not be posted or DMed to them."""
        subs = await self._store.subscriptions(job.id)
        mine = next((s for s in subs if s.user_id == user_id), None)
        if mine is None or mine.delivery != Delivery.UNDELIVERABLE:
            return None
        # The detail (Discord's codes) stays in the log and the operator's `stembot jobs`.
        return _("I couldn't post this result in the channel or DM you; here it is.")

    @for_a_member
    async def fresh_links(self, job_id: int, viewer: Viewer) -> Job:
        """The job with its stems as TaskInfo shows it now (links are re-signed upstream).

        Who may: the one visibility rule. A failed or timed-out paid job is re-checked first,
        and delivered to everyone who asked if it did finish."""
        job = await self.visible_job(job_id, viewer)
        if job is None and await self.asked_in(job_id, viewer.guild_id):
            raise UserError(_(
                "Only the members who asked for job `#{job}`, or a server admin, can "
                "refresh its links. The links on the result work until they expire.", job=job_id
            ))
        if job is None or job.remote_id is None:
            raise UserError(_("Job `#{job}` was not found here.", job=job_id))
        remote_id = job.remote_id
        if job.state in RECHECKABLE:
            job = await self.recheck(job, viewer.user_id)
            if job.state == JobState.SUCCEEDED:
                return job  # its stems were just read from the API
        if job.state != JobState.SUCCEEDED:
            raise UserError(_("Job `#{job}` has no stems: it did not finish.", job=job_id))
        separation = await self._api.separation(remote_id)
        if separation.state != RemoteState.SUCCEEDED or not separation.stems:
            raise UserError(
                _("The stem service no longer has these stems; ask for the song again.")
            )
        return replace(job, stems=separation.stems)

    # --- dead submissions -------------------------------------------------------------------

    async def shown_in_terminal(self, job: Job) -> None:
        """`stembot separate` printed this job: its own request (no member) is told."""
        for sub in await self._store.subscriptions(job.id):
            if sub.user_id is None and sub.delivery == Delivery.PENDING:
                await self._store.record_delivery(
                    sub, Delivery.CHANNEL, detail="printed in the terminal")

    async def settle_dead(self, job: Job) -> Job:
        """A `submitting` job whose submission is no longer in flight in this process: revive
        it when the API accepted it (its remote id is known), end it failed and refunded when
        the API refused it, else end it interrupted."""
        unsettled = self._unsettled
        remote_id, refusal = unsettled.stranded.get(job.id), unsettled.refused.get(job.id)
        try:
            if remote_id is not None:
                moved = await self.run(job, remote_id)
            elif refusal is not None:
                moved = await self._store.move(job, JobState.FAILED, error=refusal, refund=True)
            else:
                return await self._store.move(job, JobState.INTERRUPTED, error=endings.DEAD)
        except StoreError:
            return await self._store.get(job.id) or job  # someone settled it first
        unsettled.stranded.pop(job.id, None)
        unsettled.refused.pop(job.id, None)
        return moved

    async def run(self, job: Job, remote_id: str) -> Job:
        """Write that the API accepted a submitting job: running, its deadline from its start."""
        return await self._store.move(
            job, JobState.RUNNING, remote_id=remote_id, submitted_at=self._clock(),
            deadline_at=job.created_at.timestamp() + self._deadline_s,
        )

    # --- cancel -----------------------------------------------------------------------------

    async def cancel(self, job: Job, viewer: Viewer) -> Cancelled:
        """Stop the viewer's pings (an admin: their whole server's); end the job when nobody
        waits any more. Never raises because the job moved meanwhile."""
        if job.state == JobState.SUBMITTING:
            if await self.in_flight(job):
                return Cancelled(job, stopped=0, waiting=0, ended=False)
            job = await self.settle_dead(job)
        return await self._store.cancel(
            job, user_id=viewer.user_id,
            guild_id=viewer.guild_id if viewer.is_admin else None,
            error=endings.cancelled_by(viewer.user_id),
        )

    # --- re-check and adoption --------------------------------------------------------------

    @for_a_member
    async def recheck(self, job: Job, shown_to: int | None) -> Job:
        """A failed or timed-out job we paid for may have finished after all: ask, for free.

        If it did, it succeeds now; `shown_to` sees it at once and everyone else who asked is
        sent the result (they were told of the failure, so they are told of the recovery)."""
        if job.state not in RECHECKABLE or job.remote_id is None:
            return job
        try:
            separation = await self._api.separation(job.remote_id)
        except ApiError as exc:
            log.info("job %d: re-check failed (%s)", job.id, exc.code)
            return job
        if separation.state != RemoteState.SUCCEEDED or not separation.stems:
            return job
        try:
            moved = await self._store.move(
                job, JobState.SUCCEEDED, shown_to=shown_to, stems=separation.stems,
                credits=separation.credits, error=None, error_detail=None,
            )
        except StoreError:
            return await self._store.get(job.id) or job  # re-checked by someone else first
        return moved

    async def on_callback(self, job: Job, hint: object) -> bool:
        """A callback for a job we do not poll. Its body is only a hint: TaskInfo decides.
        True when the job is tracked again (or was re-checked into a result)."""
        if job.state == JobState.SUBMITTING:
            if await self.in_flight(job):
                return False  # its CreateTask answer is on the way and will be recorded
            job = await self.settle_dead(job)
            if job.state == JobState.RUNNING:
                return True
        if job.state == JobState.INTERRUPTED and job.remote_id is None:
            return await self.adopt(job, hint)
        if job.state in RECHECKABLE:
            return (await self.recheck(job, None)).state == JobState.SUCCEEDED
        return False

    async def adopt(self, job: Job, hint: object) -> bool:
        """An unconfirmed submission, revealed by the API: confirm the id, then track it."""
        if not isinstance(hint, str) or not _REMOTE_ID.fullmatch(hint):
            return False
        try:
            await self._api.separation(hint)  # free; a 404 or any error: not adopted
        except ApiError as exc:
            log.info("job %d: callback named %r, which TaskInfo did not confirm (%s)",
                     job.id, hint, exc.code)
            return False
        now = self._clock()
        try:
            await self._store.move(
                job, JobState.RUNNING, remote_id=hint, submitted_at=now,
                deadline_at=now + self._deadline_s, error=None, error_detail=None,
            )
        except StoreError:
            return False  # adopted meanwhile, or the id belongs to another job
        log.info("job %d: adopted remote_id %s from a callback", job.id, hint)
        return True
