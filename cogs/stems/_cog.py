"""The /stems command group: interactions in, engine calls out, jobs rendered as messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.errors import UserError
from bot.i18n import N_, _
from bot.jobs import Job, JobState, Mode
from bot.rules import may_request
from bot.service import Limits, Request
from bot.service.followup import RECHECKABLE
from cogs.stems import _admin, _jobs
from cogs.stems._checks import guild_id_of, member_of, results_channel, viewer_of
from cogs.stems._lookup import SongLookup
from cogs.stems._poster import ResultPoster
from cogs.stems._status import StatusBoard
from cogs.stems._submit import Submitter
from cogs.stems._ui import links_expire_at, result_embed, status_embed
from cogs.stems._views import PagerView, RefreshButton, links_view

if TYPE_CHECKING:
    from bot.bot import StemBot

Interaction = discord.Interaction["StemBot"]
MODE_CHOICES = [Choice(name=m.label, value=m.value) for m in Mode]
SCOPE_CHOICES = [
    Choice(name=N_("My jobs"), value="mine"), Choice(name=N_("Whole server"), value="server")
]


@app_commands.guild_only()
class Stems(
    commands.GroupCog, group_name="stems", group_description=N_("Split Suno songs into stems")
):
    def __init__(self, bot: StemBot) -> None:
        self.bot = bot
        self.status_board = StatusBoard(bot)
        self.songs = SongLookup(bot.engine.songs, bot.engine.lookup_cooldown)
        self.submitter = Submitter(bot, self.status_board)
        self.poster = ResultPoster(bot)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.engine.watch_jobs(self.status_board.on_job_changed)
        self.status_board.restore()  # a restart watches the remembered status messages again
        self.bot.engine.attach_poster(self.poster)
        # Registered, not just attached to a message: result buttons must work after a restart.
        self.bot.add_dynamic_items(RefreshButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RefreshButton)
        self.bot.engine.attach_poster(None)  # results due meanwhile wait for the next poster
        self.bot.engine.unwatch_jobs(self.status_board.on_job_changed)
        await self.status_board.close()

    # --- /stems separate ---------------------------------------------------------------

    @app_commands.command(name="separate", description=N_("Split a Suno song into stems"))
    @app_commands.describe(
        task_id=N_("The finished Suno music task the song came from"),
        suno_id=N_("The song: pick it from the list, or paste its id or suno.com/song link"),
        mode=N_("Vocals + instrumental (2 stems) or the full split (up to 12 stems)"),
    )
    @app_commands.choices(mode=MODE_CHOICES)
    async def separate(
        self,
        interaction: Interaction,
        task_id: app_commands.Range[str, 1, 200],
        suno_id: app_commands.Range[str, 1, 300],
        mode: Choice[str] | None = None,
    ) -> None:
        chosen = Mode(mode.value) if mode else Mode.VOCAL
        # Everything below answers from memory and the local database: well within 3 s.
        guild_id = guild_id_of(interaction)
        rules = await self.bot.guild_store.rules(guild_id)
        channel_id = results_channel(interaction, rules)
        # The request cleans its ids: a bad one is refused privately, before any response.
        request = Request(task_id, suno_id, chosen, guild_id, channel_id, interaction.user.id,
                          locale=interaction.locale.value)  # their language, for a late DM
        service = self.bot.engine.service
        await service.check_limits(request, Limits(rules, member_of(interaction)))
        if chosen == Mode.INSTRUMENTAL and rules.confirm_full_split:
            shared = await service.join_or_reuse(request)  # free: no confirmation needed
            if shared is None:
                await self.submitter.confirm(interaction, request, rules)
            else:
                await self.submitter.show_shared(interaction, request, shared)
            return
        await self.submitter.submit_now(interaction, request, rules)

    @separate.autocomplete("task_id")
    async def _task_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        recent = await self.bot.guild_store.recent_music_tasks(guild_id_of(interaction))
        typed, untitled = current.strip().lower(), _("Untitled")
        return [
            Choice(name=f"{title or untitled} · {task}"[:100], value=task)
            for task, title in recent
            if typed in task.lower() or typed in title.lower()
        ][:25]

    @separate.autocomplete("suno_id")
    async def _song_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        rules = await self.bot.guild_store.rules(guild_id_of(interaction))
        if not may_request(rules, member_of(interaction)):
            return []  # no API call, and no song titles, for someone who may not ask
        task_id = getattr(interaction.namespace, "task_id", None)
        return await self.songs.choices(task_id, current, interaction.user.id)

    # --- /stems status, list, cancel ---------------------------------------------------

    @app_commands.command(name="status", description=N_("Show one of your jobs, or its result"))
    @app_commands.describe(job=N_("The job number (pick from your recent jobs)"))
    async def status(self, interaction: Interaction, job: int) -> None:
        found = await self._visible_job(interaction, job)
        if found.state in RECHECKABLE and found.remote_id is not None:
            # A paid job that failed or timed out may have finished after all: ask (free).
            await interaction.response.defer(ephemeral=True, thinking=True)
            self.bot.acknowledged(interaction)
            async with self.bot.engine.rate.slot():  # ahead of the scheduler's polls
                found = await self.bot.engine.service.jobs.recheck(found, interaction.user.id)
        note = await self.bot.engine.service.jobs.delivery_note(found, interaction.user.id)
        if found.state == JobState.SUCCEEDED:
            embed = result_embed(found, links_expire_at(found, self.bot), extra=note)
            await self._answer(interaction, embed, links_view(found, refresh=True))
            return
        await self._answer(interaction, status_embed(found, note), None)

    async def _answer(
        self, interaction: Interaction, embed: discord.Embed, view: discord.ui.View | None
    ) -> None:
        """Privately: the first response, or the follow-up to a deferred one."""
        if interaction.response.is_done():
            await interaction.followup.send(
                embed=embed, view=view or discord.utils.MISSING, ephemeral=True
            )
            return
        await interaction.response.send_message(
            embed=embed, view=view or discord.utils.MISSING, ephemeral=True
        )
        self.bot.acknowledged(interaction)

    @app_commands.command(name="list", description=N_("List stem jobs, newest first"))
    @app_commands.describe(scope=N_("Your own jobs, or the whole server's (needs Manage Server)"))
    @app_commands.choices(scope=SCOPE_CHOICES)
    async def list_jobs(self, interaction: Interaction, scope: Choice[str] | None = None) -> None:
        whole_server = scope is not None and scope.value == "server"
        if whole_server and not member_of(interaction).is_admin:
            raise UserError(
                _("Listing the whole server's jobs needs the Manage Server permission.")
            )
        guild_id, user_id = guild_id_of(interaction), None if whole_server else interaction.user.id
        title = _("This server's stem jobs") if whole_server else _("Your stem jobs")

        async def page(number: int) -> tuple[discord.Embed, bool]:
            return await _jobs.jobs_page(self.bot, guild_id, user_id, title, number)

        embed, has_next = await page(0)
        view = PagerView(interaction.user.id, page, has_next)
        sent = await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
        self.bot.acknowledged(interaction)
        if isinstance(sent.resource, discord.InteractionMessage):
            view.message = sent.resource  # so the page buttons can disable themselves

    @app_commands.command(
        name="cancel", description=N_("Stop waiting for a job (credits already spent stay spent)")
    )
    @app_commands.describe(job=N_("The job number (pick from your running jobs)"))
    async def cancel(self, interaction: Interaction, job: int) -> None:
        found = await self._visible_job(interaction, job)
        viewer = viewer_of(interaction)
        done = await self.bot.engine.service.cancel(found, viewer)
        await interaction.response.send_message(_jobs.cancelled_text(done, viewer), ephemeral=True)
        self.bot.acknowledged(interaction)

    @status.autocomplete("job")
    @cancel.autocomplete("job")
    async def _job_choices(self, interaction: Interaction, current: str) -> list[Choice[int]]:
        jobs, _ = await self.bot.guild_store.jobs_page(
            guild_id_of(interaction), interaction.user.id, offset=0, limit=25
        )
        if interaction.command is not None and interaction.command.name == "cancel":
            jobs = [j for j in jobs if j.is_open]
        typed = current.strip().lstrip("#")
        return [
            Choice(name=_jobs.choice_name(j), value=j.id)
            for j in jobs
            if typed in str(j.id) or typed.lower() in (j.song_title or "").lower()
        ]

    async def _visible_job(self, interaction: Interaction, job_id: int) -> Job:
        """A job the user asked for (from any server), or, for an admin, one a member of this
        server asked for: the service's one rule, shared with cancel and Refresh."""
        guild_id_of(interaction)
        job = await self.bot.engine.service.jobs.visible_job(job_id, viewer_of(interaction))
        if job is None:
            raise UserError(_("No job `#{job}` of yours was found in this server.", job=job_id))
        return job

    # --- admin: /stems config, /stems credits -------------------------------------------

    @app_commands.command(
        name="config", description=N_("Show or change this server's stem settings")
    )
    @app_commands.describe(**_admin.CONFIG_DESCRIPTIONS)
    @app_commands.choices(
        modes=_admin.MODES_CHOICES, budget_period=_admin.PERIOD_CHOICES,
        language=_admin.LANGUAGE_CHOICES,
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def config(
        self,
        interaction: Interaction,
        allow_role: discord.Role | None = None,
        remove_role: discord.Role | None = None,
        everyone: bool | None = None,
        results_channel: discord.TextChannel | None = None,
        results_where_asked: bool | None = None,
        daily_limit: app_commands.Range[int, 0, 1000] | None = None,
        budget: app_commands.Range[float, 0, 1_000_000] | None = None,
        budget_period: Choice[str] | None = None,
        modes: Choice[str] | None = None,
        confirm_full_split: bool | None = None,
        dm_fallback: bool | None = None,
        max_open_jobs: app_commands.Range[int, 1, 50] | None = None,
        cooldown_s: app_commands.Range[int, 0, 3600] | None = None,
        language: Choice[str] | None = None,
    ) -> None:
        # discord.py reads the options from this signature; `_admin.apply` reads the values
        # given by name, from the interaction's namespace: the options are listed once, here.
        await _admin.configure(self.bot, interaction, guild_id_of(interaction))

    @app_commands.command(
        name="credits", description=N_("The bot's credits and this server's spending")
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def credits(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.bot.acknowledged(interaction)
        embed = await _admin.credits_embed(self.bot, guild_id_of(interaction))
        await interaction.followup.send(embed=embed, ephemeral=True)

