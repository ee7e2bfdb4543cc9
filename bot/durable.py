"""Writing a fact that must not be lost: a failed write is tried again at once, a few times."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 3
T = TypeVar("T")


async def write_durably(
    write: Callable[[], Awaitable[T]],
    *,
    what: str,
    job_id: int,
    went_through: Callable[[], Awaitable[T | None]] | None = None,
) -> T:
    """`write()`, tried up to RECORD_ATTEMPTS times in a row; the last failure is raised.

    After a failure, `went_through()` (when given) reads back whether the write committed after
    all (only what came after it failed): what it returns is then the result."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return await write()
        except Exception:
            if went_through is not None and (written := await went_through()) is not None:
                return written
            if attempt == RECORD_ATTEMPTS:
                raise
            log.warning("job %d: %s failed; trying again", job_id, what, exc_info=True)
    raise AssertionError("unreachable: the last attempt returns or raises")
