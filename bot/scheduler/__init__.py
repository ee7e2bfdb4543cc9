"""The scheduler: which job to poll when, within the request rate; results handed to posting.

queue.py (the poll queue), loop.py (the passes), policy.py (when to look), outcomes.py (what an
answer means), pause.py, deliveries.py (when and how results are posted), purge.py (retention),
settings.py (one frozen SchedulerSettings).
"""

from __future__ import annotations

from bot.delivery import Deliver, Delivered
from bot.scheduler.loop import Scheduler
from bot.scheduler.settings import PollPolicy, SchedulerSettings

__all__ = ["Deliver", "Delivered", "PollPolicy", "Scheduler", "SchedulerSettings"]
