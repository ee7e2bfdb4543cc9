"""What the store says back: its one error, the outcome of a cancel, a public status message."""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs import Job


class StoreError(Exception):
    """The database cannot be used as it is (newer schema, unwritable file, ...), or a job
    moved meanwhile (a stale move, a remote id that belongs to another job)."""


@dataclass(frozen=True)
class Cancelled:
    """What a cancel did: the job as it now is, how many deliveries stopped, who still waits."""

    job: Job
    stopped: int
    waiting: int
    ended: bool  # the job itself was cancelled (nobody waits any more)


@dataclass(frozen=True)
class StatusMessage:
    """A public status message showing a job, posted for one request, whose final state has not
    been edited in yet (issue 12: it stays true across a restart)."""

    job_id: int
    user_id: int | None  # who asked (the request it was posted for)
    guild_id: int | None
    channel_id: int | None  # where the result goes (None: where it was asked)
    status_channel_id: int  # where the status message itself is
    message_id: int
