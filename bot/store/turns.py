"""Whose store work goes first: a member waiting on a command, before the bot's background work."""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Set while a member's command is answered (the service's entry points, a server's listings and
# rules). The scheduler's polls, deliveries and leases run without it: when they burst (dozens of
# jobs ending at once), a command waits for one of their writes at most, not for all of them.
_interactive: ContextVar[bool] = ContextVar("store_interactive", default=False)


def is_interactive() -> bool:
    return _interactive.get()


@contextmanager
def interactive() -> Iterator[None]:
    """Store work in this block is a member's: it goes before waiting background work."""
    token = _interactive.set(True)
    try:
        yield
    finally:
        _interactive.reset(token)


def for_a_member(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run `method` as interactive() work (for the entry points a command calls)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with interactive():
            return await method(*args, **kwargs)

    return wrapper


class Turns:
    """One holder at a time (SQLite's one writer). Waiting interactive work is served before
    waiting background work; each kind in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if not self._held:
            self._held = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting[0 if is_interactive() else 1]
        queue.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed the turn as it was cancelled: pass it on
            elif future in queue:
                queue.remove(future)
            raise

    def _release(self) -> None:
        """Hand the turn straight to the next waiter (it stays held), or free it."""
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    return
        self._held = False
