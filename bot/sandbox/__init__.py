"""A loopback imitation of the crun API, with scriptable faults, for demos, tests and benchmarks.

state (records, rules, faults, callbacks) -> routes (the crun endpoints over aiohttp) -> server
(serve on loopback); seed holds the seed data, dialects the documented answer shapes.
"""

from __future__ import annotations

from bot.sandbox.answers import Fault
from bot.sandbox.dialects import DIALECTS, Dialect
from bot.sandbox.records import SandboxMusicTask, SandboxSeparation
from bot.sandbox.routes import Handler, Sandbox
from bot.sandbox.server import LOOPBACK, SandboxServer, run_forever, serve

__all__ = [
    "DIALECTS",
    "LOOPBACK",
    "Dialect",
    "Fault",
    "Handler",
    "Sandbox",
    "SandboxMusicTask",
    "SandboxSeparation",
    "SandboxServer",
    "run_forever",
    "serve",
]
