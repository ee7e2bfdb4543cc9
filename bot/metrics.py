"""Prometheus metrics in a registry of their own: jobs, API calls, credits, delays, queue size."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.jobs import JobState
from bot.store import Store

DELAY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3)


class Metrics:
    """Counters the code updates as it goes, and gauges read from the store at each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_calls = Counter(
            "stembot_api_calls", "crun API calls by endpoint and reply code",
            ["endpoint", "code"], registry=self.registry,
        )
        self.delivery_delay = Histogram(
            "stembot_delivery_delay_seconds", "From a job ending to its result being posted",
            buckets=DELAY_BUCKETS, registry=self.registry,
        )
        self.ack_time = Histogram(
            "stembot_ack_seconds", "From an interaction's creation to the bot's first response",
            buckets=ACK_BUCKETS, registry=self.registry,
        )
        self.jobs = Gauge("stembot_jobs", "Jobs by state", ["state"], registry=self.registry)
        self.credits = Gauge(
            "stembot_credits_spent", "Credits recorded as spent, all time", registry=self.registry
        )
        self.queue = Gauge(
            "stembot_scheduler_queue", "Jobs the scheduler is tracking", registry=self.registry
        )

    def count_call(self, endpoint: str, code: int) -> None:
        self.api_calls.labels(endpoint=endpoint, code=str(code)).inc()

    async def render(self, store: Store, queue_size: Callable[[], int]) -> bytes:
        """Refresh the store-backed gauges, then the text exposition format."""
        counts = await store.count_by_state()
        for state in JobState:
            self.jobs.labels(state=state.value).set(counts.get(state.value, 0))
        self.credits.set(await store.credits_total())
        self.queue.set(queue_size())
        return generate_latest(self.registry)
