"""Buttons: persistent Refresh links, Confirm/Cancel before a paid 12-stem split, list pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.bot import api_error_text
from bot.errors import ApiError, UserError
from bot.jobs import Job, JobState, RemoteState
from bot.service_jobs import RECHECKABLE, Viewer
from bot.songs import try_again_in
from cogs._ui import link_buttons, result_embed

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

# discord.py types view callbacks over any client; the bot is recovered with `_bot()`.
Interaction = discord.Interaction[Any]


def _bot(interaction: Interaction) -> StemBot:
    return cast("StemBot", interaction.client)


class RefreshButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"stems:refresh:(?P<job_id>\d+)"
):
    """Re-reads a finished job's links from the API and shows them privately. Survives restarts."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Refresh links",
                style=discord.ButtonStyle.secondary,
                custom_id=f"stems:refresh:{job_id}",
                emoji="🔄",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RefreshButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: Interaction) -> None:
        engine = _bot(interaction).engine
        wait = engine.refresh_cooldown.take(interaction.user.id)
        if wait > 0:
            text = f"You refreshed links a moment ago; {try_again_in(wait)}."
            await interaction.response.send_message(text, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            async with engine.budget.slot():  # ahead of the scheduler's polls
                job = await fresh_links(
                    _bot(interaction), self.job_id, interaction.guild_id, interaction.user.id,
                    is_admin=interaction.permissions.manage_guild,
                )
        except (UserError, ApiError) as exc:
            text = str(exc) if isinstance(exc, UserError) else api_error_text(exc)
            await interaction.followup.send(text, ephemeral=True)
            return
        expires = _bot(interaction).clock() + _bot(interaction).settings.result_ttl_s
        embed = result_embed(job, expires, extra="Fresh links, just for you.")
        await interaction.followup.send(embed=embed, view=links_view(job), ephemeral=True)


async def fresh_links(
    bot: StemBot, job_id: int, guild_id: int | None, user_id: int, *, is_admin: bool = False
) -> Job:
    """The job with its stems as TaskInfo shows it now (links are re-signed upstream).

    Who may: the service's one visibility rule. A failed or timed-out paid job is re-checked
    first, and delivered to everyone who asked if it did finish."""
    jobs = bot.engine.service.jobs
    job = await jobs.visible_job(job_id, Viewer(user_id, guild_id, is_admin))
    if job is None and await jobs.asked_in(job_id, guild_id):
        raise UserError(
            f"Only the members who asked for job `#{job_id}`, or a server admin, can refresh "
            "its links. The links on the result work until they expire."
        )
    if job is None or job.remote_id is None:
        raise UserError(f"Job `#{job_id}` was not found here.")
    remote_id = job.remote_id
    if job.state in RECHECKABLE:
        job = await jobs.recheck(job, user_id)
        if job.state == JobState.SUCCEEDED:
            return job  # its stems were just read from the API
    if job.state != JobState.SUCCEEDED:
        raise UserError(f"Job `#{job_id}` has no stems ({job.state.value}).")
    separation = await bot.engine.api.separation(remote_id)
    if separation.state != RemoteState.SUCCEEDED or not separation.stems:
        raise UserError("The API no longer has these stems; ask for the song again.")
    return Job(**{**job.__dict__, "stems": separation.stems})


def links_view(job: Job, *, refresh: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in link_buttons(job.stems):
        view.add_item(button)
    if refresh and job.state == JobState.SUCCEEDED:
        view.add_item(RefreshButton(job.id))
    return view


class ConfirmView(discord.ui.View):
    """Confirm / Cancel, for the invoker only. Nothing is paid until Confirm. On timeout the
    buttons are disabled on the prompt (set `message` to it when sending)."""

    TIMEOUT_S = 300.0
    EXPIRED = "This offer expired; nothing was spent. Ask again if you still want it."

    def __init__(self, user_id: int, on_confirm: Callable[[Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=self.TIMEOUT_S)
        self.user_id = user_id
        self.on_confirm = on_confirm
        self.message: discord.WebhookMessage | None = None

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is None:
            return
        try:
            await self.message.edit(content=self.EXPIRED, view=self)
        except discord.HTTPException as exc:
            log.info("could not disable an expired confirmation (%s)", exc.status)

    async def interaction_check(self, interaction: Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Confirmed: submitting…", view=None)
        await self.on_confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was spent.", view=None)


PageFetcher = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]  # page -> (embed, has_next)


class PagerView(discord.ui.View):
    """Previous / Next over pages the fetcher renders; only the invoker can press."""

    def __init__(self, user_id: int, fetch: PageFetcher, has_next: bool) -> None:
        super().__init__(timeout=600)
        self.user_id, self.fetch, self.page = user_id, fetch, 0
        self._update(has_next)

    def _update(self, has_next: bool) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not has_next

    async def interaction_check(self, interaction: Interaction) -> bool:
        return interaction.user.id == self.user_id

    async def _turn(self, interaction: Interaction, step: int) -> None:
        self.page = max(0, self.page + step)
        embed, has_next = await self.fetch(self.page)
        self._update(has_next)
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, 1)
