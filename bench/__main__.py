"""`python -m bench`: run every benchmark, print one table of figures; never fail."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import traceback

from bench.common import QUICK, Figure, machine, table

# Issue 5's figures, in order: 1 ack, 2-3 delivery, 4 scale, 5 store.
MODULES = ("ack", "delivery", "scale", "store_bench", "fleet", "failover", "fleet_large")


def run_module(name: str) -> list[Figure]:
    """One module's figures; a missing or failing module is reported and skipped."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ImportError as exc:
        print(f"bench.{name}: not available ({exc})", file=sys.stderr)
        return []
    started = time.monotonic()
    print(f"bench.{name}: running...", file=sys.stderr, flush=True)
    try:
        figures: list[Figure] = asyncio.run(module.run())
    except (Exception, asyncio.CancelledError):
        print(f"bench.{name}: failed\n{traceback.format_exc()}", file=sys.stderr)
        return []
    print(f"bench.{name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return figures


def main() -> int:
    figures: list[Figure] = []
    for name in MODULES:
        figures.extend(run_module(name))
    print(f"machine: {machine()}{' (quick run)' if QUICK else ''}")
    print(table(figures))
    return 0  # benchmarks print figures; they never decide pass or fail


if __name__ == "__main__":
    sys.exit(main())
