"""Server admin pieces: applying /stems config options, and the settings and credits embeds."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord.app_commands import Choice

from bot.jobs import Mode
from bot.rules import GuildRules, Period, period_end, period_start, timestamp
from cogs.stems._ui import rules_embed

if TYPE_CHECKING:
    from bot.bot import StemBot

CONFIG_DESCRIPTIONS = {
    "allow_role": "Let this role request stems (once any role is set, only those roles may)",
    "remove_role": "Take this role off the allowed list",
    "everyone": "True: everyone may request stems again (clears the role list)",
    "results_channel": "Post every result in this channel",
    "results_where_asked": "True: post results where each command was used",
    "daily_limit": "Paid requests per person per day (0 = no limit)",
    "budget": "Credits this server may spend per period (0 = no limit)",
    "budget_period": "Whether the budget is per day or per month",
    "modes": "Which modes members may use",
    "confirm_full_split": "Ask for confirmation before the 12-stem mode",
    "dm_fallback": "DM the requester when the channel can't be posted in",
    "max_open_jobs": "Jobs one person may have running at once",
    "cooldown_s": "Seconds between two requests by one person",
}
MODES_CHOICES = [
    Choice(name="Both modes", value="both"),
    Choice(name="Vocals + instrumental only", value=Mode.VOCAL.value),
    Choice(name="Full split only", value=Mode.INSTRUMENTAL.value),
]
PERIOD_CHOICES = [Choice(name="Per day", value="day"), Choice(name="Per month", value="month")]


def apply(
    rules: GuildRules,
    *,
    allow_role: discord.Role | None,
    remove_role: discord.Role | None,
    everyone: bool | None,
    results_channel: discord.TextChannel | None,
    results_where_asked: bool | None,
    daily_limit: int | None,
    budget: float | None,
    budget_period: Choice[str] | None,
    modes: Choice[str] | None,
    confirm_full_split: bool | None,
    dm_fallback: bool | None,
    max_open_jobs: int | None,
    cooldown_s: int | None,
) -> GuildRules:
    """The rules with every given option applied; options left out keep their value."""
    roles = list(rules.allowed_role_ids)
    if everyone:
        roles = []
    if allow_role is not None and allow_role.id not in roles:
        roles.append(allow_role.id)
    if remove_role is not None and remove_role.id in roles:
        roles.remove(remove_role.id)
    changes: dict[str, object] = {"allowed_role_ids": tuple(roles)}
    if results_channel is not None:
        changes["results_channel_id"] = results_channel.id
    elif results_where_asked:
        changes["results_channel_id"] = None
    if daily_limit is not None:
        changes["daily_user_limit"] = daily_limit or None
    if budget is not None:
        changes["budget_credits"] = budget or None
    if budget_period is not None:
        changes["budget_period"] = Period(budget_period.value)
    if modes is not None:
        changes["allowed_modes"] = tuple(Mode) if modes.value == "both" else (Mode(modes.value),)
    for name, value in (("confirm_full_split", confirm_full_split), ("dm_fallback", dm_fallback),
                        ("max_open_per_user", max_open_jobs), ("cooldown_s", cooldown_s)):
        if value is not None:
            changes[name] = value
    return replace(rules, **changes)  # type: ignore[arg-type]


async def settings_embed(bot: StemBot, guild_id: int, rules: GuildRules) -> discord.Embed:
    since = period_start(rules.budget_period, bot.clock())
    return rules_embed(rules, await bot.guild_store.spent(guild_id, since))


async def credits_embed(bot: StemBot, guild_id: int) -> discord.Embed:
    rules = await bot.guild_store.rules(guild_id)
    now = bot.clock()
    spent = await bot.guild_store.spent(guild_id, period_start(rules.budget_period, now))
    balance = await bot.engine.service.balance()
    embed = discord.Embed(title="Credits", colour=discord.Colour.gold())
    embed.add_field(name="API balance", value=f"{balance:g} credits (shared by every server)")
    embed.add_field(name=f"Spent here this {rules.budget_period.value}", value=f"{spent:g}")
    if rules.budget_credits is not None:
        left = max(0.0, rules.budget_credits - spent)
        embed.add_field(
            name="Budget left",
            value=f"{left:g} of {rules.budget_credits:g}; resets "
            f"{timestamp(period_end(rules.budget_period, now))}",
        )
    return embed
