"""The engine's event hub: typed signals that hand a job on to whoever subscribed, in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.jobs import Job

log = logging.getLogger(__name__)

T = TypeVar("T")


class Signal(Generic[T]):
    """Subscribers called in order on publish. One failing subscriber is logged and the others
    still run: what was published has already happened (a committed move), nothing undoes it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._subscribers: list[Callable[[T], None]] = []

    def subscribe(self, subscriber: Callable[[T], None]) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Callable[[T], None]) -> None:
        self._subscribers.remove(subscriber)

    @property
    def subscribers(self) -> tuple[Callable[[T], None], ...]:
        return tuple(self._subscribers)

    def publish(self, value: T) -> None:
        for subscriber in tuple(self._subscribers):  # one may unsubscribe while we call
            try:
                subscriber(value)
            except Exception:
                log.exception("a subscriber of %s failed", self.name)


@dataclass
class JobEvents:
    """What happens to jobs. `moved`: a state change was committed (the job as it now is);
    the store publishes it through the hook the engine gave it at open."""

    moved: Signal[Job] = field(default_factory=lambda: Signal[Job]("job moved"))
