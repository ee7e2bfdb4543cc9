"""The /stems separate flow after the first checks: confirm, defer, submit, show, watch."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import _, number, speaking
from bot.rules import GuildRules
from bot.service import Limits, Outcome, Request, Submission
from bot.tree import error_text, reply_privately
from cogs.stems._checks import member_of, server_language
from cogs.stems._status import StatusBoard, where_text
from cogs.stems._ui import links_expire_at, result_embed, status_embed, title_of
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
        await self._defer_privately(interaction)
        estimate = await self.bot.engine.service.estimate(request)

        async def confirmed(clicked: Interaction) -> None:
            await self._submit_reporting_errors(clicked, request, rules)

        view = ConfirmView(interaction.user.id, confirmed)
        view.message = await interaction.followup.send(
            _("The full split (up to 12 stems) costs about **{credits} credits**, charged even "
              "if you cancel later. Go ahead?", credits=number(estimate)),
            view=view,
            ephemeral=True,
            wait=True,
        )

    async def submit_now(
        self, interaction: Interaction, request: Request, rules: GuildRules
    ) -> None:
        """The pre-flight and the payment run under a private "thinking…": a refusal stays
        private. The public status is posted only once the job is accepted."""
        await self._defer_privately(interaction)
        await self._submit(interaction, request, rules)

    async def show_shared(
        self, interaction: Interaction, request: Request, shared: Submission
    ) -> None:
        """A request that joined or reused a job (nothing to pay): shown like a submission."""
        await self._defer_privately(interaction)
        await self._show(interaction, request, shared)

    async def _defer_privately(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.bot.acknowledged(interaction)

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
        """Privately "accepted", then the public status (the server's language)."""
        job = submission.job
        await interaction.edit_original_response(
            content=_("Job `#{job}` ({title}) is accepted; its status is posted in this channel.",
                      job=job.id, title=title_of(job)), view=None,
        )
        language = await server_language(self.bot, request.guild_id)
        with speaking(language):
            where = where_text(request.channel_id)
            embed, view = self._render(submission, request, where)
        message = await interaction.followup.send(
            embed=embed, view=view or discord.utils.MISSING, wait=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        if job.is_open:
            await self.board.watch(job, message, where, language, request.user_id)

    def _render(
        self, submission: Submission, request: Request, where: str
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        job = submission.job
        if submission.outcome == Outcome.REUSED:
            extra = _("Reused a finished result: **no credits were spent**.")
            embed = result_embed(job, links_expire_at(job, self.bot), extra=extra)
            return embed, links_view(job, refresh=True)
        member = f"<@{request.user_id}>"
        if submission.outcome == Outcome.JOINED:
            note = _("{member} asked for a song already being split: they will be pinged too, "
                     "in {where}.", member=member, where=where)
        else:
            note = _("{member} asked for these stems. They will be posted in {where} when they "
                     "are ready.", member=member, where=where)
        return status_embed(job, note), None
