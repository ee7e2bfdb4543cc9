"""A request budget: at most N calls in any one-second window, shared by all polling."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable


class RequestBudget:
    """Sliding-window limiter. Below one request per second it spaces single calls instead."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float]) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._clock = clock
        if rate_per_s >= 1:
            self.capacity, self.window_s = math.floor(rate_per_s), 1.0
        else:
            self.capacity, self.window_s = 1, 1.0 / rate_per_s
        self._sent: deque[float] = deque()

    def _forget_old(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()

    def try_take(self) -> bool:
        now = self._clock()
        self._forget_old(now)
        if len(self._sent) >= self.capacity:
            return False
        self._sent.append(now)
        return True

    def wait_s(self) -> float:
        """Seconds until try_take can succeed (0 when it can now)."""
        now = self._clock()
        self._forget_old(now)
        if len(self._sent) < self.capacity:
            return 0.0
        return max(0.0, self._sent[0] + self.window_s - now)
