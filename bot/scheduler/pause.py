"""A pause of all polling: until when, why, and never longer than a cap."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

MAX_WAIT_S = 600.0  # no Retry-After, however large, holds polling longer than this


class Pause:
    """All status checks wait until `until`; /healthz reports it with its reason."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.until = 0.0
        self.reason: str | None = None

    def start(self, seconds: float, reason: str, *, level: int = logging.WARNING) -> float:
        """Pause for `seconds` (capped); return how long polling now waits from now."""
        now = self._clock()
        wait = min(max(0.0, seconds), MAX_WAIT_S)
        if now + wait > self.until:
            self.until, self.reason = now + wait, reason
        log.log(level, "all polling paused for %.0f s because %s", self.until - now, reason)
        return self.until - now

    @property
    def active(self) -> bool:
        return self._clock() < self.until

    def detail(self) -> str | None:
        """'polling paused until <UTC time> because <reason>', or None when polling runs."""
        if not self.active:
            return None
        when = datetime.fromtimestamp(self.until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"polling paused until {when} because {self.reason}"
