"""Server admin pieces: applying /stems config options, and the settings and credits embeds."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.i18n import LANGUAGE_NAMES, N_, _, number
from bot.jobs import Mode
from bot.rules import GuildRules, Period, period_end, period_start, timestamp
from cogs.stems._ui import rules_embed

if TYPE_CHECKING:
    from bot.bot import StemBot

CONFIG_DESCRIPTIONS = {
    "allow_role": N_("Let this role ask for stems (once any role is set, only those roles may)"),
    "remove_role": N_("Take this role off the allowed list"),
    "everyone": N_("True: everyone may ask for stems again (clears the role list)"),
    "results_channel": N_("Post every result in this channel"),
    "results_where_asked": N_("True: post results where each command was used"),
    "daily_limit": N_("Paid jobs per person per day (0 = no limit)"),
    "budget": N_("Credits this server may spend per period (0 = no limit)"),
    "budget_period": N_("Whether the budget is per day or per month"),
    "modes": N_("Which modes members may use"),
    "confirm_full_split": N_("Ask for confirmation before the full split"),
    "dm_fallback": N_("DM the member when the results channel can't be posted in"),
    "max_open_jobs": N_("Jobs one person may have running at once"),
    "cooldown_s": N_("Seconds between two jobs by one person"),
    "language": N_("The language of public messages (status and results)"),
}
MODES_CHOICES = [
    Choice(name=N_("Both modes"), value="both"),
    Choice(name=N_("Vocals + instrumental only"), value=Mode.VOCAL.value),
    Choice(name=N_("Full split only"), value=Mode.INSTRUMENTAL.value),
]
PERIOD_CHOICES = [
    Choice(name=N_("Per day"), value="day"), Choice(name=N_("Per month"), value="month")
]
# Each language named in itself (never translated); "server": follow the server's language.
LANGUAGE_CHOICES = [
    Choice(name=N_("The server's language"), value="server"),
    *(Choice(name=name, value=code) for code, name in LANGUAGE_NAMES.items()),
]
# Options saved as given: the rules' field, and the option that sets it.
SET_AS_GIVEN = {
    "confirm_full_split": "confirm_full_split",
    "dm_fallback": "dm_fallback",
    "max_open_per_user": "max_open_jobs",
    "cooldown_s": "cooldown_s",
}


def apply(rules: GuildRules, options: app_commands.Namespace) -> GuildRules:
    """The rules with every given option applied; options left out keep their value.

    The options are read by name from the command's namespace (roles and channels by id,
    choices by value): their one list is the `/stems config` signature discord.py reads.
    """
    changes: dict[str, object] = {"allowed_role_ids": _roles(rules, options)}
    if options.results_channel is not None:
        changes["results_channel_id"] = options.results_channel.id
    elif options.results_where_asked:
        changes["results_channel_id"] = None
    if options.daily_limit is not None:
        changes["daily_user_limit"] = options.daily_limit or None
    if options.budget is not None:
        changes["budget_credits"] = options.budget or None
    if options.budget_period is not None:
        changes["budget_period"] = Period(options.budget_period)
    if options.language is not None:
        changes["language"] = None if options.language == "server" else options.language
    if options.modes is not None:
        both = options.modes == "both"
        changes["allowed_modes"] = tuple(Mode) if both else (Mode(options.modes),)
    for field, option in SET_AS_GIVEN.items():
        if (value := getattr(options, option)) is not None:
            changes[field] = value
    return replace(rules, **changes)  # type: ignore[arg-type]


def _roles(rules: GuildRules, options: app_commands.Namespace) -> tuple[int, ...]:
    roles = [] if options.everyone else list(rules.allowed_role_ids)
    if options.allow_role is not None and options.allow_role.id not in roles:
        roles.append(options.allow_role.id)
    if options.remove_role is not None and options.remove_role.id in roles:
        roles.remove(options.remove_role.id)
    return tuple(roles)


async def configure(bot: StemBot, interaction: discord.Interaction[StemBot], guild_id: int) -> None:
    """Show the server's rules, with the options given (if any) applied and saved."""
    rules = await bot.guild_store.rules(guild_id)
    changed = apply(rules, interaction.namespace)
    if changed != rules:
        await bot.guild_store.save_rules(guild_id, changed)
    embed = await settings_embed(bot, guild_id, changed)
    text = _("Saved.") if changed != rules else _("Current settings (pass options to change them).")
    await interaction.response.send_message(text, embed=embed, ephemeral=True)
    bot.acknowledged(interaction)


async def settings_embed(bot: StemBot, guild_id: int, rules: GuildRules) -> discord.Embed:
    since = period_start(rules.budget_period, bot.clock())
    return rules_embed(rules, await bot.guild_store.spent(guild_id, since))


async def credits_embed(bot: StemBot, guild_id: int) -> discord.Embed:
    rules = await bot.guild_store.rules(guild_id)
    now = bot.clock()
    spent = await bot.guild_store.spent(guild_id, period_start(rules.budget_period, now))
    balance = await bot.engine.service.balance()
    embed = discord.Embed(title=_("Credits"), colour=discord.Colour.gold())
    embed.add_field(name=_("The bot's balance"),
                    value=_("{n} credits (shared by every server)", n=number(balance)))
    spent_here = _("Spent here today") if rules.budget_period == Period.DAY else _(
        "Spent here this month")
    embed.add_field(name=spent_here, value=number(spent))
    if rules.budget_credits is not None:
        left = max(0.0, rules.budget_credits - spent)
        embed.add_field(name=_("Budget left"), value=_(
            "{left} of {budget}; resets {when}", left=number(left),
            budget=number(rules.budget_credits),
            when=timestamp(period_end(rules.budget_period, now))))
    return embed
