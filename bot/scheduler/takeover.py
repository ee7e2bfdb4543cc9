"""Taking over open jobs (at start, or from a process that died): poll or end each one."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import endings
from bot.jobs import Job, JobState
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

async def take_over(
    store: Store, jobs: list[Job], track: Callable[[Job], None]
) -> tuple[int, int]:
    """Poll the running jobs; end the submissions whose submitter is gone (nobody knows whether
    the API took them: never resent). (resumed, interrupted)"""
    resumed = interrupted = 0
    for job in jobs:
        if job.state == JobState.SUBMITTING:
            try:
                await store.move(job, JobState.INTERRUPTED, error=endings.INTERRUPTED)
                interrupted += 1
            except StoreError:
                log.warning("job %d: moved on while being taken over", job.id)
        elif job.state == JobState.RUNNING:
            track(job)
            resumed += 1
    return resumed, interrupted
