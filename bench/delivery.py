"""Figures 2 and 3: delivery delay and TaskInfo calls per job, for polling and callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bench.common import QUICK, Figure, table
from bot.config import Secret, Settings
from bot.engine import Engine
from bot.jobs import Delivery, Job, Mode, Subscription
from bot.sandbox import Sandbox, serve
from bot.scheduler import Deliver, Delivered, PollPolicy, Scheduler
from bot.service import Request
from bot.web import WebServer

SCALE = 30.0  # scaled seconds per real second: a 60 s job takes 2 real seconds
JOBS = 100 if QUICK else 500
ARRIVAL_GAP_S = 1.2  # mean scaled seconds between submissions (500 jobs arrive over ~10 min)
VOCAL_SHARE = 0.7
SIGMA = 0.35
MEDIAN_S = {Mode.VOCAL: 60.0, Mode.INSTRUMENTAL: 120.0}
REQUESTS_PER_S = 100.0  # scaled; far above need, so the rate is never what we measure
SEED = 5
MUSIC_TASK = "bench-music-task"


class ScaledClock:
    """Wall-clock-like seconds that run SCALE times faster than real time."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._t0, self._m0 = time.time(), time.monotonic()

    def __call__(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self.scale


@dataclass(frozen=True)
class Workload:
    arrivals: list[tuple[float, Mode]]  # (scaled seconds from start, mode), in order
    durations: dict[Mode, list[float]]  # the n-th CreateTask of a mode takes durations[mode][n]


def make_workload(jobs: int, seed: int = SEED) -> Workload:
    rng = random.Random(seed)
    arrivals: list[tuple[float, Mode]] = []
    at = 0.0
    for _ in range(jobs):
        at += rng.expovariate(1 / ARRIVAL_GAP_S)
        arrivals.append((at, Mode.VOCAL if rng.random() < VOCAL_SHARE else Mode.INSTRUMENTAL))
    durations = {
        mode: [rng.lognormvariate(0.0, SIGMA) * MEDIAN_S[mode] for _ in range(jobs)]
        for mode in Mode
    }
    return Workload(arrivals, durations)


class BenchSandbox(Sandbox):
    """The sandbox, counting status checks per separation and finishing each exactly on time.

    The stock server finishes due work on a 50 ms real tick; scaled by 30 that is a 1.5 s
    artefact in every callback's delay, so each separation gets its own timer instead.
    """

    def __init__(self, clock: ScaledClock, workload: Workload) -> None:
        self._draws = {mode: iter(workload.durations[mode]) for mode in Mode}
        super().__init__(
            clock=clock, duration_s=lambda mode: next(self._draws[mode]), balance=1e9
        )
        self.scale = clock.scale
        self.polls: Counter[str] = Counter()  # TaskInfo calls per separation (not source checks)

    async def _task_info(self, request: web.Request) -> web.StreamResponse:
        task_id = request.query.get("task_id", "")
        if task_id in self.separations:
            self.polls[task_id] += 1
        return await super()._task_info(request)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        before = set(self.separations)
        response = await super()._create(request)
        loop = asyncio.get_running_loop()
        for remote_id in set(self.separations) - before:
            wait_s = (self.separations[remote_id].finish_at - self.clock()) / self.scale
            loop.call_later(max(0.0, wait_s), self.due)
        return response


@dataclass
class Outcome:
    name: str
    delays_s: list[float] = field(default_factory=list)
    polls_per_job: float = 0.0
    missing: int = 0
    errors: list[str] = field(default_factory=list)

    def p(self, q: int) -> float:
        if len(self.delays_s) < 2:
            return float("nan")
        return statistics.quantiles(self.delays_s, n=100, method="inclusive")[q - 1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _drive(scheduler: Scheduler, scale: float) -> None:
    """Scheduler._run_forever sleeps clock-seconds as real seconds; under a scaled clock it
    would oversleep SCALE-fold, so the bench runs the same loop with the sleep scaled."""
    await scheduler.resume()
    while True:
        scheduler._wakeup.clear()
        delay_s = await scheduler.run_once()
        try:
            async with asyncio.timeout(max(0.001, min(delay_s, 30.0) / scale)):
                await scheduler._wakeup.wait()
        except TimeoutError:
            pass


def _settings(folder: Path, base_url: str, port: int | None) -> Settings:
    return Settings(
        crun_api_key=Secret("bench-key-0123456789"),
        crun_api_base=base_url,
        database_path=folder / "bench.sqlite3",
        poll_min_interval_s=2.0,
        poll_max_interval_s=30.0,
        api_requests_per_s=REQUESTS_PER_S,
        crun_timeout_s=15.0,
        public_url=None if port is None else f"http://127.0.0.1:{port}",
        http_port=port,
    )


async def _submit_all(
    engine: Engine, clock: ScaledClock, workload: Workload, outcome: Outcome
) -> None:
    start = clock()
    for n, (at, mode) in enumerate(workload.arrivals):
        await asyncio.sleep(max(0.0, (start + at - clock()) / clock.scale))
        try:
            await engine.service.submit(Request(MUSIC_TASK, f"song-{n}", mode, 1, 2, 3))
        except Exception as exc:  # reported as a missing job, not a crashed benchmark
            outcome.errors.append(f"song-{n}: {exc!r}")


def _recorder(
    outcome: Outcome, sandbox: BenchSandbox, clock: ScaledClock, jobs: int, done: asyncio.Event
) -> Deliver:
    """A deliverer that notes each job's delay from the sandbox's finish to being handed over."""
    seen: set[int] = set()

    async def deliver(job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        if job.id in seen:
            outcome.errors.append(f"job {job.id} delivered twice")
        else:
            seen.add(job.id)
            outcome.delays_s.append(clock() - sandbox.separations[job.remote_id or ""].finish_at)
        if len(outcome.delays_s) >= jobs:
            done.set()
        return {s.id: Delivered(Delivery.CHANNEL) for s in subs}

    return deliver


async def run_variant(
    name: str, workload: Workload, *, policy: PollPolicy | None, callbacks: bool
) -> Outcome:
    """One engine, sandbox (and web server, with callbacks) on one scaled clock; all jobs."""
    clock, jobs = ScaledClock(SCALE), len(workload.arrivals)
    sandbox = BenchSandbox(clock, workload)
    sandbox.add_music_task(MUSIC_TASK, [(f"song-{n}", f"Song {n}") for n in range(jobs)])
    outcome, done = Outcome(name), asyncio.Event()
    port = _free_port() if callbacks else None
    async with contextlib.AsyncExitStack() as stack:  # closes in reverse: sandbox first
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        api = await serve(sandbox)
        engine = await Engine.open(_settings(folder, api.base_url, port),
                                   _recorder(outcome, sandbox, clock, jobs, done), clock=clock,
                                   policy=policy)
        stack.push_async_callback(engine.close)
        if port is not None:
            server = WebServer(engine, lambda: True)
            await server.start("127.0.0.1", port)
            stack.push_async_callback(server.close)
        stack.push_async_callback(api.close)  # its callback client may hold a connection to us
        tasks = [asyncio.create_task(_drive(engine.scheduler, SCALE)),
                 asyncio.create_task(_submit_all(engine, clock, workload, outcome))]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), (workload.arrivals[-1][0] + 1800.0) / SCALE)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    outcome.missing = jobs - len(outcome.delays_s)
    outcome.polls_per_job = sum(sandbox.polls.values()) / max(1, len(sandbox.separations))
    return outcome


def fixed(interval_s: float) -> PollPolicy:
    return lambda elapsed_s, expected_s: interval_s


def near_expected(
    first_look: float, base_s: float, slope: float, *, min_s: float = 2.0, max_s: float = 30.0
) -> PollPolicy:
    """A candidate for bot/policy.py: one look at `first_look` x expected, then every
    `base_s` + `slope` x |elapsed - expected| seconds, within [min_s, max_s]. Checks are
    dense, in absolute seconds, where jobs finish, and thin out on either side."""

    def delay(elapsed_s: float, expected_s: float) -> float:
        if elapsed_s < first_look * expected_s:
            return first_look * expected_s - elapsed_s
        return min(max(base_s + slope * abs(elapsed_s - expected_s), min_s), max_s)

    return delay


REFERENCE, POLLING, CALLBACKS = "reference", "polling", "callbacks"
# (name, policy (None: bot/policy.py), callbacks on, which targets apply)
VARIANTS: tuple[tuple[str, PollPolicy | None, bool, str], ...] = (
    ("fixed 5 s", fixed(5.0), False, REFERENCE),
    ("fixed 10 s", fixed(10.0), False, REFERENCE),
    ("adaptive", None, False, POLLING),
    ("adaptive + callbacks", None, True, CALLBACKS),
    ("near_expected(.65, 3, .07)", near_expected(0.65, 3.0, 0.07), False, POLLING),
    ("near_expected(.65, 2.5, .1)", near_expected(0.65, 2.5, 0.1), False, POLLING),
)


def _delay_figures(name: str, kind: str, out: Outcome, ref: Outcome) -> list[Figure]:
    target, met = "", None
    if kind == POLLING:
        target, met = f"<= {ref.p(50):.2f} s", out.p(50) <= ref.p(50)
    elif kind == CALLBACKS:
        target, met = "<= 0.5 s", out.p(50) <= 0.5
    figures = [
        Figure(f"delay p50, {name}", out.p(50), "s", target, met, ref.p(50), ref.name),
        Figure(f"delay p95, {name}", out.p(95), "s", reference=ref.p(95),
               reference_name=ref.name),
    ]
    if kind == CALLBACKS:  # what the scaled clock magnifies: real time from finish to delivery
        real_ms = out.p(50) / SCALE * 1000
        figures.append(Figure(f"delay p50 in real time, {name}", real_ms, "ms"))
    return figures


def _call_figure(name: str, kind: str, out: Outcome, ref: Outcome) -> Figure:
    target, met = "", None
    if kind == POLLING:
        cap = 0.6 * ref.polls_per_job
        target, met = f"<= {cap:.1f} (60%)", out.polls_per_job <= cap
    elif kind == CALLBACKS:
        target, met = "<= 3", out.polls_per_job <= 3.0
    return Figure(f"TaskInfo calls/job, {name}", out.polls_per_job, "", target, met,
                  ref.polls_per_job, ref.name)


def _figures(outcomes: list[tuple[str, Outcome]]) -> list[Figure]:
    ref = outcomes[0][1]
    # The request rate is set far above need, so it is never what these figures measure.
    setup = f"jobs (clock x{SCALE:.0f}, {REQUESTS_PER_S:.0f} req/s limit)"
    figures = [Figure(f"delivery: {setup}", float(JOBS), "")]
    for kind, out in outcomes:
        figures += _delay_figures(out.name, kind, out, ref)
    for kind, out in outcomes:
        figures.append(_call_figure(out.name, kind, out, ref))
    for _, out in outcomes:
        if out.missing:
            figures.append(Figure(f"not delivered, {out.name}", out.missing, "", "0", False))
    return figures


async def run() -> list[Figure]:
    workload = make_workload(JOBS)
    outcomes: list[tuple[str, Outcome]] = []
    for name, policy, callbacks, kind in VARIANTS:
        out = await run_variant(name, workload, policy=policy, callbacks=callbacks)
        for error in out.errors[:5]:
            print(f"bench.delivery: {name}: {error}", file=sys.stderr)
        outcomes.append((kind, out))
    return _figures(outcomes)


if __name__ == "__main__":
    print(table(asyncio.run(run())))
