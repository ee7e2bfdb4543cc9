"""The store's interface: what every backend implements (SQLite today; PostgreSQL to scale out).

Callers get models (Job, Subscription, GuildRules, Usage) and StoreError, never a connection,
a cursor or a row: a transaction stays inside the backend that opened it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.rules import GuildRules, Usage
from bot.store.errors import Cancelled

Published = Callable[[Job], None]  # given each committed move (the engine's event hub)
# Runs inside create_job's write transaction, before the job is written; raises to refuse.
# What it reads through the store (usage) must see that transaction: SQLite has one connection;
# a pooled backend binds the transaction's connection to the running task.
Admit = Callable[[], Awaitable[None]]


class JobsStore(Protocol):
    """Jobs: recorded, read, moved through their states (the one choke point), purged."""

    async def create_job(
        self, *, music_task_id: str, song_id: str, mode: Mode, song_title: str | None,
        guild_id: int | None, channel_id: int | None, requester_id: int | None,
        callback_token: str | None, estimated_credits: float, admit: Admit | None = None,
    ) -> Job: ...
    async def get(self, job_id: int) -> Job | None: ...
    async def by_callback_token(self, token: str) -> Job | None: ...
    async def find_open(self, music_task_id: str, song_id: str, mode: Mode) -> Job | None: ...
    async def find_reusable(
        self, music_task_id: str, song_id: str, mode: Mode, *, max_age_s: float
    ) -> Job | None: ...
    async def open_jobs(self) -> list[Job]: ...
    async def move(
        self, job: Job, new: JobState, *, told: bool = False, shown_to: int | None = None,
        refund: bool = False, **changes: Any,
    ) -> Job:
        """Check, write (with `credits`: the charge settled in the same transaction), publish;
        StoreError when the job is no longer in `job.state`."""
        ...
    async def cancel(
        self, job: Job, *, user_id: int, guild_id: int | None = None, error: str
    ) -> Cancelled: ...
    async def settle_charge(self, job_id: int, credits: float) -> None: ...
    async def purge_finished(self, before: float) -> int: ...
    async def recent_jobs(
        self, *, state: JobState | None = None, limit: int = 20
    ) -> list[Job]: ...
    async def recent_durations(self, mode: Mode, limit: int = 50) -> list[float]: ...


class DeliveriesStore(Protocol):
    """Who asked for each job, and what happened to each one's result."""

    async def subscribe(
        self, job: Job, *, user_id: int | None, guild_id: int | None, channel_id: int | None,
        delivery: Delivery = Delivery.WAITING,
    ) -> Subscription: ...
    async def subscriptions(self, job_id: int) -> list[Subscription]: ...
    async def due_deliveries(self, *, limit: int = 50) -> list[int]: ...
    async def next_delivery_at(self) -> float | None: ...
    async def record_delivery(
        self, sub: Subscription, outcome: Delivery, *, detail: str | None = None,
        message_id: int | None = None, retry_in_s: float | None = None,
    ) -> None: ...


class GuildsStore(Protocol):
    """Per-server rules, usage and listings; meta values; the figures health and metrics read."""

    async def guild_rules(self, guild_id: int) -> GuildRules | None: ...
    async def save_guild_rules(self, guild_id: int, rules: GuildRules) -> None: ...
    async def usage(
        self, guild_id: int, user_id: int, rules: GuildRules, now: float
    ) -> Usage: ...
    async def spent(self, guild_id: int, since: float) -> float: ...
    async def jobs_page(
        self, guild_id: int, user_id: int | None, *, offset: int, limit: int
    ) -> tuple[list[Job], int]: ...
    async def recent_music_tasks(
        self, guild_id: int, *, limit: int = 25
    ) -> list[tuple[str, str]]: ...
    async def meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...
    async def ping(self) -> bool: ...
    async def count_by_state(self) -> dict[str, int]: ...
    async def credits_total(self) -> float: ...


class Store(JobsStore, DeliveriesStore, GuildsStore, Protocol):
    """The whole interface, and the one resource it holds."""

    async def close(self) -> None: ...
