"""Builds and owns the engine's resources: one HTTP session, one store, one scheduler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import aiohttp

from bot.api import StemApi
from bot.config import Secret, Settings
from bot.delivery import Deliver
from bot.events import JobEvents
from bot.jobs import Job
from bot.metrics import Metrics, default_process_name
from bot.scheduler import PollPolicy, Scheduler, SchedulerSettings
from bot.service import SubmitService
from bot.songs import Cooldown, SongCache
from bot.store import Store, open_store

log = logging.getLogger(__name__)

REFRESH_COOLDOWN_S = 10.0  # per member: Refresh links costs a TaskInfo call
LOOKUP_COOLDOWN_S = 3.0  # per member: a song-list lookup that the cache could not answer


class Engine:
    """Everything below Discord, opened in one place and closed in one place."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        store: Store,
        events: JobEvents,
        deliver: Deliver | None,
        clock: Callable[[], float],
        policy: PollPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.store = store
        self.clock = clock
        self.metrics = Metrics(process_name(settings))
        self.api = self._new_api()
        self.scheduler = self._new_scheduler(deliver, policy)
        # Every subscription to the store's moves is made here, or through watch_jobs.
        self.events = events
        events.moved.subscribe(self.scheduler.on_moved)
        # User-triggered calls take places in the scheduler's request rate, ahead of its polls.
        self.rate = self.scheduler.rate
        self.songs = SongCache(self.api, self.rate)
        self.refresh_cooldown = Cooldown(REFRESH_COOLDOWN_S, clock)
        self.lookup_cooldown = Cooldown(LOOKUP_COOLDOWN_S, clock)
        self.service = self._new_service()

    def _new_api(self) -> StemApi:
        settings = self.settings
        return StemApi(
            self.session,
            base_url=settings.crun_api_base,
            api_key=settings.crun_api_key.reveal(),
            model=settings.crun_model,
            timeout_s=settings.crun_timeout_s,
            on_call=self.metrics.count_call,
        )

    def _new_scheduler(self, deliver: Deliver | None, policy: PollPolicy | None) -> Scheduler:
        settings = self.settings
        timing = SchedulerSettings(
            min_interval_s=settings.poll_min_interval_s,
            max_interval_s=settings.poll_max_interval_s,
            requests_per_s=settings.api_requests_per_s,
            callbacks=settings.public_url is not None,
            retention_s=settings.retention_days * 24 * 3600.0,
            policy=policy,
            # Several processes may share PostgreSQL: each polls only the jobs it leases.
            lease_owner=self.metrics.process if settings.database_url else None,
            lease_s=settings.lease_s,
        )
        return Scheduler(self.store, self.api, deliver, timing, clock=self.clock,
                         on_delivered=self.metrics.delivery_delay.observe)

    def _new_service(self) -> SubmitService:
        return SubmitService(
            self.store,
            self.api,
            songs=self.songs,
            result_ttl_s=self.settings.result_ttl_s,
            deadline_s=self.settings.job_deadline_s,
            callback_url=self.callback_url,
            clock=self.clock,
            rate=self.rate,
            owner=self.metrics.process if self.settings.database_url else None,
        )

    @classmethod
    async def open(
        cls,
        settings: Settings,
        deliver: Deliver | None = None,
        *,
        clock: Callable[[], float] = time.time,
        policy: PollPolicy | None = None,
    ) -> Engine:
        """Open every resource. Results are posted by `deliver`, or by the poster attached
        later (the Discord cog attaches its own when it loads)."""
        events = JobEvents()
        store = await open_store(settings, clock=clock, published=events.moved.publish,
                                 owner=process_name(settings))
        session = aiohttp.ClientSession()
        return cls(settings, session, store, events, deliver, clock, policy)

    def attach_poster(self, poster: Deliver | None) -> None:
        """Who posts finished jobs' results (None: nobody; due deliveries wait for one)."""
        self.scheduler.attach_deliverer(poster)

    def watch_jobs(self, observer: Callable[[Job], None]) -> None:
        """Call `observer` after every state change is written (the job as it now is)."""
        self.events.moved.subscribe(observer)

    def unwatch_jobs(self, observer: Callable[[Job], None]) -> None:
        self.events.moved.unsubscribe(observer)

    def callback_url(self, token: str) -> str | None:
        if self.settings.public_url is None:
            return None
        return f"{self.settings.public_url}/callbacks/{token}"

    async def start(self) -> None:
        # A callback that reached another process wakes the job here, where it is leased.
        await self.store.listen_wakes(self.scheduler.wake)
        await self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.session.close()
        await self.store.close()


def process_name(settings: Settings) -> str:
    """This process's name among those sharing a database: PROCESS_NAME, else host-pid."""
    return settings.process_name or default_process_name()


def sandbox_settings(settings: Settings, base_url: str) -> Settings:
    """Settings for the bundled sandbox: its jobs take seconds, so look every second."""
    return replace(
        settings,
        crun_api_base=base_url,
        crun_api_key=settings.crun_api_key or Secret("sandbox"),
        poll_min_interval_s=min(settings.poll_min_interval_s, 0.5),
        poll_max_interval_s=min(settings.poll_max_interval_s, 1.0),
    )
