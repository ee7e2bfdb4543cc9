"""The scheduler's settings as one frozen value, built from Settings by the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# (seconds the job has run, seconds jobs of its mode typically take) -> seconds to the next check
PollPolicy = Callable[[float, float], float]


@dataclass(frozen=True)
class SchedulerSettings:
    """How often to look at jobs, how fast to call the API, how long to keep ended jobs."""

    min_interval_s: float
    max_interval_s: float
    requests_per_s: float
    callbacks: bool = False  # callbacks announce results: polling is only the safety net
    max_in_flight: int = 32
    max_delivery_attempts: int = 8
    retention_s: float | None = None  # None: ended jobs are kept
    policy: PollPolicy | None = None  # None: the adaptive policy; benchmarks plug in fixed pollers
    # This process's name on a database several processes share (PostgreSQL): it polls only the
    # jobs it holds a lease on, and takes its share of the budget. None: the only process
    # (SQLite): every open job is its own, and the whole budget.
    lease_owner: str | None = None
    lease_s: float = 15.0
