"""Keeps each job's public status message true until the job ends, in the server's language."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import _, speaking
from bot.jobs import Job, JobState
from bot.service.followup import FollowUp
from bot.service.status import StatusMessage
from cogs.stems._checks import server_language
from cogs.stems._ui import status_embed

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

# Interaction tokens die after 15 minutes; past this, the message is edited through its channel.
TOKEN_LIFETIME_S = 14 * 60

def where_text(channel_id: int | None) -> str:
    """Where the result will be posted, as the status says it (in the language spoken now)."""
    return f"<#{channel_id}>" if channel_id else _("this channel")


@dataclass
class Watched:
    channel_id: int
    message_id: int
    where: str  # where the result will be posted ("<#123>")
    language: str  # the server's language, chosen when the status was posted
    message: discord.WebhookMessage | None = None  # with the interaction's token, while it lives
    token_until: float = 0.0  # past this (and after a restart), edited through the channel


class StatusBoard:
    """Job id -> the status messages showing it; edited on every state change (no polling).

    Each message is remembered through the service until its job's final state is edited in:
    a restart watches it again, and corrects it at once if the job ended meanwhile."""

    def __init__(self, bot: StemBot) -> None:
        self._bot = bot
        self._door: FollowUp = bot.engine.service.jobs
        self._messages: defaultdict[int, list[Watched]] = defaultdict(list)
        self._edits: set[asyncio.Task[None]] = set()
        self._restoring: asyncio.Task[None] | None = None

    async def watch(
        self, job: Job, message: discord.WebhookMessage, where: str, language: str,
        user_id: int | None,
    ) -> None:
        """Watch a status just posted for `user_id`'s request, and remember it for a restart."""
        channel_id = message.channel.id
        until = time.monotonic() + TOKEN_LIFETIME_S
        self._add(job.id, Watched(channel_id, message.id, where, language, message, until))
        await self._door.remember_status(
            job.id, user_id, channel_id=channel_id, message_id=message.id
        )

    def _add(self, job_id: int, entry: Watched) -> None:
        watched = self._messages[job_id]
        if all(w.message_id != entry.message_id for w in watched):
            watched.append(entry)

    def on_job_changed(self, job: Job) -> None:
        """A store observer: called after each state change has been written."""
        watched = self._messages.pop(job.id, [])
        if job.is_open and watched:
            self._messages[job.id] = watched
        for entry in watched:
            self._spawn(self._edit(entry, job))
        if job.state == JobState.SUCCEEDED and not watched:
            # Nobody watches it here: a job re-checked into a success after its "failed" was
            # shown (the store made that status due again), or one of another process's.
            self._spawn(self._correct(job))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._edits.add(task)
        task.add_done_callback(self._edits.discard)

    async def _correct(self, job: Job) -> None:
        """Edit the final state into this job's remembered statuses of the servers held here."""
        try:
            for status in await self._door.statuses_to_restore():
                if status.job_id == job.id and self._holds(status.guild_id):
                    await self._edit(await self._rewatched(self._bot, status), job)
        except Exception:
            log.exception("job %d: its public status was not corrected", job.id)

    def _holds(self, guild_id: int | None) -> bool:
        """This process answers for the server (another process's shards keep their own)."""
        return guild_id is None or self._bot.get_guild(guild_id) is not None

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
            if entry.message is not None and time.monotonic() < entry.token_until:
                await entry.message.edit(embed=embed)
            else:
                channel = self._bot.get_partial_messageable(entry.channel_id)
                await channel.get_partial_message(entry.message_id).edit(embed=embed)
        except discord.NotFound:
            log.info("job %d: status message %d is gone", job.id, entry.message_id)
        except discord.HTTPException as exc:  # an ended job's status is corrected at next start
            log.info("job %d: status message not updated (%s)", job.id, exc.status)
            return
        if not job.is_open:
            await self._door.status_shown_final(job.id, entry.message_id)

    # --- after a (re)start ------------------------------------------------------------------

    def restore(self) -> None:
        """Watch again, in the background, every status message not yet showing its end."""
        self._restoring = asyncio.create_task(self._restore(self._bot))

    async def restored(self) -> None:
        """Wait until the remembered messages are watched and the ended jobs' edits are done."""
        if self._restoring is not None:
            await asyncio.gather(self._restoring, return_exceptions=True)

    async def _restore(self, bot: StemBot) -> None:
        try:
            await bot.wait_until_ready()  # the server's language may be the guild's own
            remembered = [
                status for status in await self._door.statuses_to_restore()
                if self._holds(status.guild_id)
            ]
            for status in remembered:
                self._add(status.job_id, await self._rewatched(bot, status))
            # Read after watching: a job that moves from now on is edited by on_job_changed.
            for job_id in sorted({status.job_id for status in remembered}):
                job = await self._door.reread(job_id)
                if job is not None and not job.is_open:
                    self.on_job_changed(job)  # it ended while nobody watched: correct it now
            await asyncio.gather(*self._edits, return_exceptions=True)
        except Exception:
            log.exception("public status messages were not restored")

    async def _rewatched(self, bot: StemBot, status: StatusMessage) -> Watched:
        """A remembered message, edited through its channel (the interaction's token is gone)."""
        language = await server_language(bot, status.guild_id)
        with speaking(language):
            where = where_text(status.channel_id)
        return Watched(status.status_channel_id, status.message_id, where, language)

    async def close(self) -> None:
        if self._restoring is not None:
            self._restoring.cancel()
        await self.restored()
        await asyncio.gather(*self._edits, return_exceptions=True)
