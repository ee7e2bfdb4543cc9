"""Buttons: persistent Refresh links, Confirm/Cancel before a paid 12-stem split, list pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.i18n import N_, _, current, speaking
from bot.jobs import Job, JobState
from bot.service.followup import Viewer
from bot.songs import try_again_in
from bot.tree import error_text, read_privately, reply_privately
from cogs.stems._ui import link_buttons, result_embed

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

REFRESH = N_("Refresh links")

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
                label=_(REFRESH),
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
        read_privately(interaction)
        engine = _bot(interaction).engine
        wait = engine.refresh_cooldown.take(interaction.user.id)
        if wait > 0:
            text = _("You refreshed links a moment ago; {wait}.", wait=try_again_in(wait))
            await interaction.response.send_message(text, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        viewer = Viewer(
            interaction.user.id, interaction.guild_id, interaction.permissions.manage_guild
        )
        try:
            async with engine.rate.slot():  # ahead of the scheduler's polls
                job = await engine.service.jobs.fresh_links(self.job_id, viewer)
        except Exception as exc:
            await reply_privately(interaction, error_text(exc, where="Refresh links"))
            return
        expires = _bot(interaction).clock() + _bot(interaction).settings.result_ttl_s
        embed = result_embed(job, expires, extra=_("Fresh links, just for you."))
        await interaction.followup.send(embed=embed, view=links_view(job), ephemeral=True)


def links_view(job: Job, *, refresh: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in link_buttons(job.stems):
        view.add_item(button)
    if refresh and job.state == JobState.SUCCEEDED:
        view.add_item(RefreshButton(job.id))
    return view


class PrivateErrorsView(discord.ui.View):
    """A view whose button errors are answered with the tree's one table, privately; its
    buttons answer in the presser's language and disable themselves when they time out."""

    message: discord.WebhookMessage | discord.InteractionMessage | None = None

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is None:
            return
        try:
            notice = self.expired()
            if notice is None:
                await self.message.edit(view=self)
            else:
                await self.message.edit(content=notice, view=self)
        except discord.HTTPException as exc:
            log.info("could not disable expired buttons (%s)", exc.status)

    def expired(self) -> str | None:
        """The text that replaces the message's when the buttons expire (None: unchanged)."""
        return None

    async def on_error(
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await reply_privately(interaction, error_text(error, where="a button"))


class ConfirmView(PrivateErrorsView):
    """Confirm / Cancel, for the invoker only. Nothing is paid until Confirm. On timeout the
    buttons are disabled on the prompt (set `message` to it when sending)."""

    TIMEOUT_S = 300.0
    EXPIRED = N_("This offer expired; nothing was spent. Ask again if you still want it.")

    def __init__(self, user_id: int, on_confirm: Callable[[Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=self.TIMEOUT_S)
        self.user_id = user_id
        self.on_confirm = on_confirm
        self.language = current()  # the asker's: the expiry notice is written in it
        self.confirm.label, self.cancel.label = _("Confirm"), _("Cancel")

    def expired(self) -> str | None:
        with speaking(self.language):
            return _(self.EXPIRED)

    async def interaction_check(self, interaction: Interaction) -> bool:
        read_privately(interaction)
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content=_("Confirmed: starting…"), view=None)
        await self.on_confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=_("Cancelled: nothing was spent."), view=None
        )


PageFetcher = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]  # page -> (embed, has_next)


class PagerView(PrivateErrorsView):
    """Previous / Next over pages the fetcher renders; only the invoker can press."""

    TIMEOUT_S = 600.0

    def __init__(self, user_id: int, fetch: PageFetcher, has_next: bool) -> None:
        super().__init__(timeout=self.TIMEOUT_S)
        self.user_id, self.fetch, self.page = user_id, fetch, 0
        self.previous.label, self.next.label = _("Previous"), _("Next")
        self._update(has_next)

    def _update(self, has_next: bool) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not has_next

    async def interaction_check(self, interaction: Interaction) -> bool:
        read_privately(interaction)
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
