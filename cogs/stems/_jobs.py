"""Pieces of /stems status, list and cancel: the list's pages, the cancel reply, job choices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.jobs import Job
from bot.rules import plural
from bot.service_jobs import Viewer
from bot.store import Cancelled
from cogs.stems._ui import STATE_WORDS, job_line

if TYPE_CHECKING:
    from bot.bot import StemBot

PAGE_SIZE = 10
NOT_REFUNDED = (
    "Credits already spent are not refunded: the API has no way to cancel a separation."
)


async def jobs_page(
    bot: StemBot, guild_id: int, user_id: int | None, title: str, number: int
) -> tuple[discord.Embed, bool]:
    """Page `number` of the server's jobs (or one member's), and whether another follows."""
    jobs, total = await bot.guild_store.jobs_page(
        guild_id, user_id, offset=number * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    embed.description = "\n".join(job_line(j) for j in jobs) or "No jobs yet."
    embed.set_footer(text=f"Page {number + 1} of {pages} · {plural(total, 'job')}")
    return embed, (number + 1) * PAGE_SIZE < total


def cancelled_text(done: Cancelled, viewer: Viewer) -> str:
    job_id = done.job.id
    if done.ended:
        return f"Cancelled job `#{job_id}`: nobody will be pinged. {NOT_REFUNDED}"
    who = "Nobody in this server will" if viewer.is_admin else "You won't"
    return (
        f"{who} be pinged for job `#{job_id}`; it goes on for the others who asked. "
        f"{NOT_REFUNDED}"
    )


def choice_name(job: Job) -> str:
    return f"#{job.id} {job.song_title or job.song_id} ({STATE_WORDS[job.state]})"[:100]
