"""Prometheus metrics in a registry of their own, every series labelled with this process."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from bot.jobs import JobState
from bot.store import Store

DELAY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3)


def default_process_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ProcessLabel(Collector):
    """Every sample of `source` with process="<name>" added: with several processes scraped
    into one Prometheus, each series still says whose it is."""

    def __init__(self, source: CollectorRegistry, process: str) -> None:
        self.source = source
        self.process = process

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [
                s._replace(labels={**s.labels, "process": self.process}) for s in family.samples
            ]
            yield labelled


class Metrics:
    """Counters the code updates as it goes, and gauges read from the store at each scrape."""

    def __init__(self, process: str | None = None) -> None:
        self.process = process or default_process_name()
        self.registry = CollectorRegistry()
        self.exposed = CollectorRegistry(auto_describe=False)
        self.exposed.register(ProcessLabel(self.registry, self.process))
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
        self.guild_credits = Gauge(
            "stembot_guild_credits_spent", "Credits recorded as spent by a server, all time",
            ["guild"], registry=self.registry,
        )
        # One process on SQLite holds a lease, in effect, on every job it tracks, and has the
        # whole request budget; on PostgreSQL, the leases it really holds, and its share.
        self.leases = Gauge(
            "stembot_leases_held", "Jobs this process holds the polling lease of",
            registry=self.registry,
        )
        self.budget_share = Gauge(
            "stembot_request_budget_share", "This process's share of API_REQUESTS_PER_S (0 to 1)",
            registry=self.registry,
        )
        self.budget_share.set(1.0)

    def count_call(self, endpoint: str, code: int) -> None:
        self.api_calls.labels(endpoint=endpoint, code=str(code)).inc()

    async def render(
        self, store: Store, queue_size: Callable[[], int],
        leases_held: Callable[[], int] | None = None,
        budget_share: Callable[[], float] | None = None,
    ) -> bytes:
        """Refresh the store-backed gauges, then the text exposition format."""
        counts = await store.count_by_state()
        for state in JobState:
            self.jobs.labels(state=state.value).set(counts.get(state.value, 0))
        self.credits.set(await store.credits_total())
        self.guild_credits.clear()  # a purged server's series goes with it
        for guild_id, spent in (await store.credits_by_guild()).items():
            self.guild_credits.labels(guild=str(guild_id)).set(spent)
        self.queue.set(queue_size())
        self.leases.set((leases_held or queue_size)())
        self.budget_share.set(budget_share() if budget_share else 1.0)
        return generate_latest(self.exposed)
