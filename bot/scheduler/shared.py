"""Work shared with other processes on one database: this process's leases, heartbeat, budget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.jobs import Job, JobState
from bot.rate import RequestRate
from bot.scheduler.settings import SchedulerSettings
from bot.store import Store

log = logging.getLogger(__name__)

CLAIM_EVERY_S = 1.0  # how often to look for jobs nobody holds (a dead process's, released ones)
BUDGET_EVERY_S = 5.0  # how often to re-read how many processes share the request budget
CLAIM_LIMIT = 100  # jobs per claim: one short transaction
CLAIM_AGAIN_S = 0.1  # a full claim suggests more are waiting (a dead process's): look again soon


@dataclass
class Changes:
    """What one tick learned: jobs this process now holds and should poll (or interrupt), and
    jobs it polled but holds no more (another process has them, or they ended elsewhere)."""

    taken: list[Job] = field(default_factory=list)
    lost: set[int] = field(default_factory=set)
    renewed: bool = False


class SharedWork:
    """Leases on the jobs this process polls: claimed when nobody holds them, renewed well
    within `lease_s`, released when a job ends and at a clean stop. A heartbeat says this
    process is alive; the live processes split API_REQUESTS_PER_S between them evenly."""

    def __init__(
        self, store: Store, owner: str, lease_s: float, rate: RequestRate,
        requests_per_s: float, clock: Callable[[], float],
    ) -> None:
        self._store, self.owner, self.lease_s = store, owner, lease_s
        self._rate, self._requests_per_s, self._clock = rate, requests_per_s, clock
        self.held: set[int] = set()  # open jobs whose lease this process holds
        self._ended: set[int] = set()  # ended here: their leases are released at the next tick
        self.share = 1.0
        self._renew_at = self._claim_at = self._budget_at = 0.0

    @classmethod
    def of(
        cls, store: Store, settings: SchedulerSettings, rate: RequestRate,
        clock: Callable[[], float],
    ) -> SharedWork | None:
        """The shared work the settings ask for (None: this is the only process)."""
        if settings.lease_owner is None:
            return None
        return cls(store, settings.lease_owner, settings.lease_s, rate, settings.requests_per_s,
                   clock)

    @property
    def renew_every_s(self) -> float:
        return self.lease_s / 3

    async def start(self) -> list[Job]:
        """Say we are alive, take our share, and the jobs still leased to this name (a restart
        within LEASE_S): the caller polls the running ones and ends the submitting ones."""
        # Back under our name (a restart): our previous run's calls of the last window still
        # count at the API, though this new rate never saw them, so we poll nothing for a window.
        hold_s = self._rate.window_s
        if self.owner not in await self._store.live_processes(within_s=self.lease_s):
            # New to the others: they take us into their count within BUDGET_EVERY_S, and
            # their calls at the old rate age out one window later. Until then our share
            # would come on top of theirs, so we poll nothing.
            hold_s += BUDGET_EVERY_S
        self._rate.hold_polls(self._clock() + hold_s)
        await self._store.heartbeat(self.owner)
        await self._refresh_budget()
        self.held = set(await self._store.renew_held_leases(self.owner, self.lease_s))
        self._renew_at = self._clock() + self.renew_every_s
        # One read, not a get() per lease: 33,000 of those outlasted LEASE_S.
        return [job for job in await self._store.held_jobs(self.owner) if job.id in self.held]

    async def tick(self, tracked: frozenset[int]) -> Changes:
        """Renew, claim and re-read the budget, each when it is due."""
        now, changes = self._clock(), Changes()
        # Each is marked done only once it worked: a failed renewal is tried on the next pass.
        if now >= self._renew_at:
            await self._renew(tracked, changes)
            self._renew_at, changes.renewed = now + self.renew_every_s, True
        if now >= self._budget_at:
            await self._refresh_budget()
            self._budget_at = now + BUDGET_EVERY_S
        if now >= self._claim_at:
            claimed = await self._store.claim_due_jobs(self.owner, self.lease_s, CLAIM_LIMIT)
            self.held.update(job.id for job in claimed)
            changes.taken += claimed
            full = len(claimed) >= CLAIM_LIMIT
            self._claim_at = now + (CLAIM_AGAIN_S if full else CLAIM_EVERY_S)
        return changes

    def next_due_in(self) -> float:
        return max(0.0, min(self._renew_at, self._claim_at, self._budget_at) - self._clock())

    def ended(self, job_id: int) -> None:
        """A job ended here: its lease goes back at the next tick."""
        self.held.discard(job_id)
        self._ended.add(job_id)

    async def stop(self, tracked: frozenset[int] = frozenset()) -> None:
        """A clean stop: give every lease back at once (those polled here too, created since
        the last renewal), so others need not wait them out."""
        try:
            await self._store.release_lease(self.owner, sorted(self.held | self._ended | tracked))
        except Exception:
            log.warning("%s: could not release its leases; they lapse within %.0f s",
                        self.owner, self.lease_s, exc_info=True)
        self.held.clear()
        self._ended.clear()

    async def _renew(self, tracked: frozenset[int], changes: Changes) -> None:
        await self._store.heartbeat(self.owner)
        ended: list[int] = []
        if self._ended:
            ended, self._ended = sorted(self._ended), set()
            await self._store.release_lease(self.owner, ended)
        renewed = set(await self._store.renew_held_leases(self.owner, self.lease_s))
        # A job that ended here, before or during this renewal, gave its lease back: not lost.
        changes.lost = set(tracked) - renewed - set(ended) - self._ended
        for job_id in sorted(renewed - tracked):  # ours, not polled here: adopt it if running
            job = await self._store.get(job_id)  # (a submission of ours is left to finish)
            if job is not None and job.state == JobState.RUNNING:
                changes.taken.append(job)
        if changes.lost:
            log.warning("%s: lost the leases of jobs %s", self.owner, sorted(changes.lost))
        self.held = renewed

    async def _refresh_budget(self) -> None:
        live = set(await self._store.live_processes(within_s=self.lease_s)) | {self.owner}
        share = 1.0 / len(live)
        if share != self.share:
            log.info("%s: %d live processes; this one takes %.0f%% of the request budget",
                     self.owner, len(live), share * 100)
        self.share = share
        self._rate.set_rate(self._requests_per_s * share)
