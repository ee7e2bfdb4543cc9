"""What the store says back: its one error, and the outcome of a cancel."""

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
