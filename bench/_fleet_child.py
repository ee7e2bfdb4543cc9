"""One bot process of the fleet benchmarks: an Engine on PostgreSQL, reporting to a file."""

# Run as `python -m bench._fleet_child`; settings come from the environment (DATABASE_URL,
# PROCESS_NAME, ...), and BENCH_FLEET_OUT names the file. It writes one `started` line, a `sample`
# line every second (RSS, event-loop lag p99, polls), and a `delivered` line per result handed to
# its poster (which posts nothing). SIGTERM stops it cleanly; SIGKILL is what failover uses.

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from bench._rig import percentile
from bench.scale import Sampler, rss_mb
from bot.api import Separation
from bot.config import load_settings
from bot.engine import Engine
from bot.jobs import Delivery, Job, Subscription
from bot.scheduler import Delivered

SAMPLE_EVERY_S = 1.0


class Child:
    """The engine's poster and poll counter, writing what it sees to `out`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.polls = 0
        self.first_poll_at: float | None = None

    def write(self, event: str, **fields: Any) -> None:
        self.out.write(json.dumps({"ev": event, "at": time.time(), **fields}) + "\n")
        self.out.flush()

    async def deliver(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        self.write("delivered", job=job.id)
        return {s.id: Delivered(Delivery.CHANNEL, message_id=job.id) for s in subs}

    def watch_polls(self, engine: Engine) -> None:
        separation = engine.api.separation

        async def counted(remote_id: str) -> Separation:
            if self.first_poll_at is None:
                self.first_poll_at = time.time()
            self.polls += 1
            return await separation(remote_id)

        engine.api.separation = counted  # type: ignore[method-assign]

    def sample(self, engine: Engine, sampler: Sampler) -> None:
        self.write("sample", rss_mb=max(sampler.peak_rss_mb, rss_mb()),
                   lag_p99_ms=percentile(sampler.lags_ms, 99), polls=self.polls,
                   first_poll_at=self.first_poll_at, queue=engine.scheduler.queue_size)


async def serve(child: Child) -> None:
    settings = load_settings(os.environ)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sampler = Sampler()
    engine = await Engine.open(settings, child.deliver)
    child.watch_polls(engine)
    started = time.perf_counter()
    await engine.start()
    child.write("started", start_s=time.perf_counter() - started,
                resumed=engine.scheduler.queue_size, pid=os.getpid())
    sampler.start()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
        except TimeoutError:
            pass
        child.sample(engine, sampler)
    await sampler.stop()
    await engine.close()
    child.write("stopped")


def main() -> int:
    with open(os.environ["BENCH_FLEET_OUT"], "a", encoding="utf-8") as out:
        asyncio.run(serve(Child(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
