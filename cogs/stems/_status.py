"""Keeps each job's public status message true until the job ends, in the server's language."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.i18n import _, speaking
from bot.jobs import Job, JobState
from cogs.stems._ui import status_embed

log = logging.getLogger(__name__)

# Interaction tokens die after 15 minutes; past this, the message is edited through its channel.
TOKEN_LIFETIME_S = 14 * 60

ChannelMessage = Callable[[int, int], discord.PartialMessage]  # (channel id, message id)


@dataclass
class Watched:
    message: discord.WebhookMessage
    token_until: float
    where: str  # where the result will be posted ("<#123>")
    language: str  # the server's language, chosen when the status was posted


class StatusBoard:
    """Job id -> the status messages showing it; edited on every state change (no polling)."""

    def __init__(self, channel_message: ChannelMessage) -> None:
        self._channel_message = channel_message
        self._messages: defaultdict[int, list[Watched]] = defaultdict(list)
        self._edits: set[asyncio.Task[None]] = set()

    def watch(
        self, job_id: int, message: discord.WebhookMessage, where: str, language: str
    ) -> None:
        until = time.monotonic() + TOKEN_LIFETIME_S
        self._messages[job_id].append(Watched(message, until, where, language))

    def on_job_changed(self, job: Job) -> None:
        """A store observer: called after each state change has been written."""
        watched = self._messages.pop(job.id, [])
        if job.is_open and watched:
            self._messages[job.id] = watched
        for entry in watched:
            task = asyncio.create_task(self._edit(entry, job))
            self._edits.add(task)
            task.add_done_callback(self._edits.discard)

    @staticmethod
    def note(job: Job, where: str) -> str | None:
        """The line under the status: the final state replaces the promise to post (an ended
        job's embed says what happened, a cancel by whom: see _words.reason)."""
        if job.state == JobState.SUCCEEDED:
            return _("Finished: the stems are posted in {where}.", where=where)
        if job.is_open:
            return _("The stems will be posted in {where} when they are ready.", where=where)
        return None

    async def _edit(self, entry: Watched, job: Job) -> None:
        with speaking(entry.language):
            embed = status_embed(job, self.note(job, entry.where))
        try:
            if time.monotonic() < entry.token_until:
                await entry.message.edit(embed=embed)
            else:
                message = self._channel_message(entry.message.channel.id, entry.message.id)
                await message.edit(embed=embed)
        except discord.HTTPException as exc:
            log.info("job %d: status message not updated (%s)", job.id, exc.status)

    async def close(self) -> None:
        await asyncio.gather(*self._edits, return_exceptions=True)
