"""The /stems separate flow after the first checks: confirm, defer, submit, show, watch; cancel."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import ApiError, UserError
from bot.jobs import Delivery, Job, JobState, Mode
from bot.rules import GuildRules, check_access
from bot.service import ESTIMATED_CREDITS, Limits, Outcome, Request, Submission
from bot.service_jobs import Viewer
from cogs._checks import member_of
from cogs._status import StatusBoard
from cogs._ui import result_embed, status_embed
from cogs._views import ConfirmView, links_view

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
ESTIMATE_TIMEOUT_S = 2.0
NOT_REFUNDED = (
    "Credits already spent are not refunded: the API has no way to cancel a separation."
)
class Submitter:
    """Takes a checked request through to a public status message, paying at most once."""

    def __init__(self, bot: StemBot, board: StatusBoard) -> None:
        self.bot = bot
        self.board = board

    async def check_access(self, interaction: Interaction, rules: GuildRules, mode: Mode) -> None:
        guild_id, now = interaction.guild_id or 0, self.bot.clock()
        usage = await self.bot.guild_store.usage(guild_id, interaction.user.id, rules, now)
        check_access(rules, member_of(interaction), mode, now, usage)

    async def is_free(self, request: Request) -> bool:
        """Would this request join or reuse a job instead of paying? (then no confirmation)"""
        store = self.bot.engine.store
        args = (request.music_task_id, request.song_ref, request.mode)
        if await store.find_open(*args) is not None:
            return True
        ttl = self.bot.settings.result_ttl_s
        return await store.find_reusable(*args, max_age_s=ttl) is not None

    async def confirm(self, interaction: Interaction, request: Request, rules: GuildRules) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.bot.acknowledged(interaction)
        estimate = await self._estimate(request)

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

    async def _estimate(self, request: Request) -> float:
        try:
            quoted = await asyncio.wait_for(
                self.bot.engine.api.estimate_credits(
                    request.music_task_id, request.song_ref, request.mode
                ),
                ESTIMATE_TIMEOUT_S,
            )
        except (ApiError, TimeoutError):
            quoted = None
        return quoted if quoted is not None else ESTIMATED_CREDITS[request.mode]

    async def submit_now(
        self, interaction: Interaction, request: Request, rules: GuildRules
    ) -> None:
        await interaction.response.defer(thinking=True)
        self.bot.acknowledged(interaction)
        interaction.extras["public_defer"] = True
        await self._submit(interaction, request, rules)

    async def _submit_reporting_errors(
        self, interaction: Interaction, request: Request, rules: GuildRules
    ) -> None:
        """After a button press the tree's error table is not in the way: report here."""
        try:
            await self._submit(interaction, request, rules)
        except UserError as exc:
            await interaction.followup.send(str(exc), ephemeral=True)
        except ApiError as exc:
            await interaction.followup.send(exc.user_text, ephemeral=True)
        except Exception:
            log.exception("confirmed submission failed")
            await interaction.followup.send("Something went wrong on our side.", ephemeral=True)

    async def _submit(self, interaction: Interaction, request: Request, rules: GuildRules) -> None:
        # The service checks the spending rules again in the transaction that records the
        # charge: two requests sent together cannot both pass a limit.
        limits = Limits(rules, member_of(interaction))
        submission = await self.bot.engine.service.submit(request, limits=limits)
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
            expires = (job.finished_at.timestamp() if job.finished_at else 0) + (
                self.bot.settings.result_ttl_s
            )
            extra = "Reused a finished result: **no credits were spent**."
            return result_embed(job, expires, extra=extra), links_view(job, refresh=True)
        where = f"<#{request.channel_id}>" if request.channel_id else "here"
        if submission.outcome == Outcome.JOINED:
            note = f"Someone already asked for this song: you will be pinged too, in {where}."
        else:
            note = f"Submitted. I'll ping you in {where} when the stems are ready."
        return status_embed(job, note), None

    async def cancel(self, job: Job, viewer: Viewer) -> str:
        done = await self.bot.engine.service.jobs.cancel(job, viewer)
        if done.ended:
            self.bot.engine.scheduler.forget(job.id)
            return f"Cancelled job `#{job.id}`: nobody will be pinged. {NOT_REFUNDED}"
        if done.job.state == JobState.SUBMITTING:
            raise UserError(f"Job `#{job.id}` is being submitted right now; try again shortly.")
        if not done.job.is_open:
            raise UserError(f"Job `#{job.id}` already ended ({done.job.state.value}).")
        who = "Nobody in this server will" if viewer.is_admin else "You won't"
        return (
            f"{who} be pinged for job `#{job.id}`; it goes on for the others who asked. "
            f"{NOT_REFUNDED}"
        )

    async def delivery_note(self, job: Job, user_id: int) -> str | None:
        subs = await self.bot.engine.store.subscriptions(job.id)
        mine = next((s for s in subs if s.user_id == user_id), None)
        if mine is None or mine.delivery != Delivery.UNDELIVERABLE:
            return None
        return (
            "I couldn't post this result in the channel or DM you "
            f"({mine.detail}); here it is."
        )
