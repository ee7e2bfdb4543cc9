"""What the bench modules share: a sandbox and a deliverer that count, seeded jobs, percentiles."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from aiohttp import web

from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.sandbox import Handler, Sandbox, SandboxSeparation
from bot.scheduler import Delivered
from bot.store import Store

SEED_TASK = "bench-seed-task"


class CountingSandbox(Sandbox):
    """The sandbox, noting when each API request arrived (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def _endpoint(self, name: str, handler: Handler) -> Handler:
        inner = super()._endpoint(name, handler)

        async def counted(request: web.Request) -> web.StreamResponse:
            self.arrivals.append(time.monotonic())
            return await inner(request)

        return counted


class CountingDeliverer:
    """A deliverer that posts nothing and counts how often each job was handed to it."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    async def __call__(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        self.counts[job.id] += 1
        return {s.id: Delivered(Delivery.CHANNEL, message_id=1) for s in subs}


def max_per_window(times: list[float], window_s: float = 1.0) -> int:
    """The most timestamps in any window of `window_s` seconds."""
    ordered, best, first = sorted(times), 0, 0
    for last, t in enumerate(ordered):
        while t - ordered[first] >= window_s:
            first += 1
        best = max(best, last - first + 1)
    return best


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def seed_running(
    store: Store, sandbox: Sandbox, count: int, *, finish_in_s: float, requester_id: int = 999
) -> list[Job]:
    """`count` running jobs in the store, each with a separation at the sandbox."""
    now = sandbox.clock()
    jobs = []
    for i in range(count):
        job = await store.create_job(
            music_task_id=SEED_TASK, song_id=f"seed-song-{i}", mode=Mode.VOCAL,
            song_title=None, guild_id=1, channel_id=1, requester_id=requester_id,
            callback_token=None, estimated_credits=1.0,
        )
        remote_id = f"sep-bench-{job.id}"
        sandbox.separations[remote_id] = SandboxSeparation(
            remote_id, SEED_TASK, job.song_id, Mode.VOCAL, now, now + finish_in_s, None, 1.0
        )
        jobs.append(await store.move(job, JobState.RUNNING, remote_id=remote_id,
                                     submitted_at=time.time()))
    return jobs
