"""Keeps each job's public status message current while its interaction token lives."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

import discord

from bot.jobs import Job
from cogs.stems._ui import status_embed

log = logging.getLogger(__name__)

# Interaction tokens die after 15 minutes; stop editing a little before.
TOKEN_LIFETIME_S = 14 * 60


class StatusBoard:
    """Job id -> the status messages showing it; edited on every state change (no polling)."""

    def __init__(self) -> None:
        self._messages: defaultdict[int, list[tuple[discord.WebhookMessage, float]]] = (
            defaultdict(list)
        )
        self._edits: set[asyncio.Task[None]] = set()

    def watch(self, job_id: int, message: discord.WebhookMessage) -> None:
        self._messages[job_id].append((message, time.monotonic() + TOKEN_LIFETIME_S))

    def on_job_changed(self, job: Job) -> None:
        """A store observer: called after each state change has been written."""
        now = time.monotonic()
        alive = [(m, until) for m, until in self._messages.pop(job.id, []) if until > now]
        for message, _ in alive:
            task = asyncio.create_task(self._edit(message, job))
            self._edits.add(task)
            task.add_done_callback(self._edits.discard)
        if job.is_open and alive:
            self._messages[job.id] = alive

    @staticmethod
    async def _edit(message: discord.WebhookMessage, job: Job) -> None:
        # Keep the note ("I'll ping you in #results…"): it says where the result will appear.
        note = message.embeds[0].description if message.embeds else None
        try:
            await message.edit(embed=status_embed(job, note))
        except discord.HTTPException as exc:
            log.info("job %d: status message not updated (%s)", job.id, exc.status)

    async def close(self) -> None:
        await asyncio.gather(*self._edits, return_exceptions=True)
