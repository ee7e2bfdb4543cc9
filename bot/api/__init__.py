"""The crun API from our side: client (one coroutine per call), wire (one attempt, bounded reads,
the envelope), taskinfo (what a TaskInfo answer says, read defensively)."""

from __future__ import annotations

from bot.api.client import StemApi
from bot.api.taskinfo import MusicTask, Separation, Song, parse_stems

__all__ = ["MusicTask", "Separation", "Song", "StemApi", "parse_stems"]
