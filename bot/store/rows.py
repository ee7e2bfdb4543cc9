"""Rows to models, for both backends: a jobs row is a Job, a subscriptions row a Subscription."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.jobs import Delivery, Job, JobState, Mode, Stem, Subscription
from bot.store.errors import StatusMessage


class Row(Protocol):
    """A row of either backend (sqlite3.Row, asyncpg.Record): read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def to_dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def job_from_row(row: Row) -> Job:
    stems = tuple(Stem(**s) for s in json.loads(row["stems"]))
    return Job(
        id=row["id"],
        music_task_id=row["music_task_id"],
        song_id=row["song_id"],
        mode=Mode(row["mode"]),
        state=JobState(row["state"]),
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        requester_id=row["requester_id"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        song_title=row["song_title"],
        remote_id=row["remote_id"],
        submitted_at=to_dt(row["submitted_at"]),
        finished_at=to_dt(row["finished_at"]),
        deadline_at=to_dt(row["deadline_at"]),
        error=row["error"],
        credits=row["credits"],
        callback_token=row["callback_token"],
        poll_count=row["poll_count"],
        stems=stems,
        error_detail=row["error_detail"],
    )


def subscription_from_row(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        job_id=row["job_id"],
        user_id=row["user_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        delivery=Delivery(row["delivery"]),
        attempts=row["attempts"],
        detail=row["detail"],
        message_id=row["message_id"],
        locale=row["locale"],
    )


def status_message_from_row(row: Row) -> StatusMessage:
    """A subscriptions row with a status message still to be shown final."""
    return StatusMessage(
        job_id=row["job_id"],
        user_id=row["user_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        status_channel_id=row["status_channel_id"],
        message_id=row["status_message_id"],
    )
