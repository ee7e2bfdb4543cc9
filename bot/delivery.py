"""What posting a result returns: the contract between the scheduler and whoever posts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.jobs import Delivery, Job, Subscription


@dataclass(frozen=True)
class Delivered:
    """What a delivery attempt did for one requester. PENDING means: try again later."""

    outcome: Delivery
    detail: str | None = None
    message_id: int | None = None


Deliver = Callable[[Job, Sequence[Subscription]], Awaitable[Mapping[int, Delivered]]]
