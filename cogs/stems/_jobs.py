"""Pieces of /stems status, list and cancel: the list's pages, the cancel reply, job choices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.i18n import _, ngettext
from bot.jobs import Job
from bot.service.followup import Viewer
from bot.store import Cancelled
from cogs.stems._ui import job_line, title_of
from cogs.stems._words import state_word

if TYPE_CHECKING:
    from bot.bot import StemBot

PAGE_SIZE = 10


async def jobs_page(
    bot: StemBot, guild_id: int, user_id: int | None, title: str, number: int
) -> tuple[discord.Embed, bool]:
    """Page `number` of the server's jobs (or one member's), and whether another follows."""
    jobs, total = await bot.guild_store.jobs_page(
        guild_id, user_id, offset=number * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    embed.description = "\n".join(job_line(j) for j in jobs) or _("No jobs yet.")
    embed.set_footer(text=ngettext(
        "Page {page} of {pages} · {n} job", "Page {page} of {pages} · {n} jobs",
        total, page=number + 1, pages=pages,
    ))
    return embed, (number + 1) * PAGE_SIZE < total


def cancelled_text(done: Cancelled, viewer: Viewer) -> str:
    """The canceller's reply. Only whoever paid is told their credits are not refunded."""
    job = done.job
    if done.ended:
        text = _("Cancelled job `#{job}` ({title}): nobody will be pinged.", job=job.id,
                 title=title_of(job))
    elif viewer.is_admin:
        text = _("Nobody in this server will be pinged for job `#{job}` ({title}); it goes on "
                 "for the others who asked.", job=job.id, title=title_of(job))
    else:
        text = _("You won't be pinged for job `#{job}` ({title}); it goes on for the others "
                 "who asked.", job=job.id, title=title_of(job))
    if job.requester_id == viewer.user_id and job.remote_id is not None:
        text += "\n" + _("The credits you spent are not refunded: a job can't be stopped once "
                         "the stem service has started it.")
    return text


def choice_name(job: Job) -> str:
    title = job.song_title or job.song_id
    return _("#{job} {title} ({state})", job=job.id, title=title, state=state_word(job))[:100]
