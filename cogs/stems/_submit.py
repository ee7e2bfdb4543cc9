"""The /stems separate flow after the first checks: confirm, defer, submit, show, watch."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.rules import GuildRules
from bot.service import Limits, Outcome, Request, Submission
from bot.tree import error_text, reply_privately
from cogs.stems._checks import member_of
from cogs.stems._status import StatusBoard
from cogs.stems._ui import links_expire_at, result_embed, status_embed
from cogs.stems._views import ConfirmView, links_view

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]


class Submitter:
    """Takes a checked request through to a public status message, paying at most once."""

    def __init__(self, bot: StemBot, board: StatusBoard) -> None:
        self.bot = bot
        self.board = board

    async def confirm(self, interaction: Interaction, request: Request, rules: GuildRules) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.bot.acknowledged(interaction)
        estimate = await self.bot.engine.service.estimate(request)

        async def confirmed(clicked: Interaction) -> None:
            await self._submit_reporting_errors(clicked, request, rules)

        view = ConfirmView(interaction.user.id, confirmed)
        view.message = await interaction.followup.send(
            f"The full split (up to 12 stems) costs about **{estimate:g} credits**, "
            "charged even if you cancel later. Go ahead?",
            view=view,
            ephemeral=True,
            wait=True,
        )

    async def submit_now(
        self, interaction: Interaction, request: Request, rules: GuildRules
    ) -> None:
        await self._defer_publicly(interaction)
        await self._submit(interaction, request, rules)

    async def show_shared(
        self, interaction: Interaction, request: Request, shared: Submission
    ) -> None:
        """A request that joined or reused a job (nothing to pay): shown like a submission."""
        await self._defer_publicly(interaction)
        await self._show(interaction, request, shared)

    async def _defer_publicly(self, interaction: Interaction) -> None:
        await interaction.response.defer(thinking=True)
        self.bot.acknowledged(interaction)
        interaction.extras["public_defer"] = True

    async def _submit_reporting_errors(
        self, interaction: Interaction, request: Request, rules: GuildRules
    ) -> None:
        """After a button press the tree's on_error is not in the way: the same table, here."""
        try:
            await self._submit(interaction, request, rules)
        except Exception as exc:
            await reply_privately(interaction, error_text(exc, where="a confirmed submission"))

    async def _submit(self, interaction: Interaction, request: Request, rules: GuildRules) -> None:
        # The service checks the spending rules again in the transaction that records the
        # charge: two requests sent together cannot both pass a limit.
        limits = Limits(rules, member_of(interaction))
        submission = await self.bot.engine.service.submit(request, limits=limits)
        await self._show(interaction, request, submission)

    async def _show(
        self, interaction: Interaction, request: Request, submission: Submission
    ) -> None:
        embed, view = self._render(submission, request)
        message = await interaction.followup.send(
            embed=embed, view=view or discord.utils.MISSING, wait=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        interaction.extras["filled"] = True
        if submission.job.is_open:
            self.board.watch(submission.job.id, message)

    def _render(
        self, submission: Submission, request: Request
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        job = submission.job
        if submission.outcome == Outcome.REUSED:
            extra = "Reused a finished result: **no credits were spent**."
            embed = result_embed(job, links_expire_at(job, self.bot), extra=extra)
            return embed, links_view(job, refresh=True)
        where = f"<#{request.channel_id}>" if request.channel_id else "here"
        if submission.outcome == Outcome.JOINED:
            note = f"Someone already asked for this song: you will be pinged too, in {where}."
        else:
            note = f"Submitted. I'll ping you in {where} when the stems are ready."
        return status_embed(job, note), None
