"""The request rate: at most N calls in any one-second window as the API sees them."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

RECHECK_S = 0.05  # a waiting user call looks again at least this often (the clock may be faked)


class RequestRate:
    """A call holds its place from when it is allowed until one window after its reply.

    Counting from the reply, not from the decision to send, is what keeps the arrivals at the
    API within the limit: a request allowed now may reach the API a little later. Below one
    request per second the window stretches instead (one call per 1/rate seconds).
    """

    def __init__(self, rate_per_s: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.set_rate(rate_per_s)
        self.polls_held_until = 0.0  # before this, no call takes a place (see hold_polls)
        self.in_flight = 0
        self._done: deque[float] = deque()  # reply times still inside the window
        self.waiting = 0  # user-triggered calls waiting for a place: polls yield to them
        self._freed = asyncio.Event()

    def set_rate(self, rate_per_s: float) -> None:
        """A new rate from now on (this process's share of a global budget changed). Calls
        already counted stay counted: a lower rate admits nothing until they age out."""
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate_per_s = rate_per_s
        if rate_per_s >= 1:
            self.capacity, self.window_s = math.floor(rate_per_s), 1.0
        else:
            self.capacity, self.window_s = 1, 1.0 / rate_per_s

    def _used(self) -> int:
        now = self._clock()
        while self._done and self._done[0] <= now - self.window_s:
            self._done.popleft()
        return self.in_flight + len(self._done)

    def hold_polls(self, until: float) -> None:
        """No calls before `until`: a process that just joined a shared budget waits until the
        others have seen it and shrunk their shares (their sum is the whole budget meanwhile).
        User-triggered calls wait too; those that can't wait (autocomplete, a quote) give up
        on their own timeouts."""
        self.polls_held_until = until

    def try_take(self) -> bool:
        """A place for a poll, unless one is full, polls are held, or a user call is waiting."""
        if self.waiting or self._used() >= self.capacity or self._clock() < self.polls_held_until:
            return False
        self.in_flight += 1
        return True

    async def acquire(self) -> None:
        """A place for a user-triggered call (a pre-flight, autocomplete, Refresh): it waits,
        ahead of every poll, until the window has room."""
        self.waiting += 1
        try:
            while self._used() >= self.capacity or self._clock() < self.polls_held_until:
                self._freed.clear()
                try:
                    async with asyncio.timeout(min(max(self._free_in_s(), 0.01), RECHECK_S)):
                        await self._freed.wait()
                except TimeoutError:
                    pass
            self.in_flight += 1
        finally:
            self.waiting -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """`async with rate.slot():` around one user-triggered call."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def place(self) -> Place:
        """A place held for a call that may still not be sent (the paid CreateTask: taken
        before its job is recorded, so a recorded job never waits to be sent)."""
        await self.acquire()
        return Place(self)

    def give_back(self) -> None:
        """A place taken for a call that was never sent: it counts for nothing."""
        self.in_flight = max(0, self.in_flight - 1)
        self._freed.set()

    def release(self) -> None:
        """A call that took a place has its reply (or failed): it counts one window more."""
        self.in_flight = max(0, self.in_flight - 1)
        self._done.append(self._clock())
        self._freed.set()

    def wait_s(self) -> float:
        """Seconds until try_take can succeed (0 now; a full window while all are in flight)."""
        if self._clock() < self.polls_held_until:
            return self.polls_held_until - self._clock()
        if self.waiting:
            return max(self._free_in_s(), self.window_s / self.capacity)
        if self._used() < self.capacity:
            return 0.0
        return self._free_in_s()

    def _free_in_s(self) -> float:
        if self._used() < self.capacity:
            return 0.0
        if not self._done:
            return self.window_s  # a reply will wake the loop sooner
        return max(0.0, self._done[0] + self.window_s - self._clock())


class Place:
    """One place in a rate, settled once: `used()` when the call got its reply or failed on
    the way, `unused()` when it was never sent."""

    def __init__(self, rate: RequestRate) -> None:
        self._rate: RequestRate | None = rate

    def used(self) -> None:
        if self._rate is not None:
            self._rate.release()
        self._rate = None

    def unused(self) -> None:
        if self._rate is not None:
            self._rate.give_back()
        self._rate = None
