"""Who is asking, and can the bot post where the result must go: answered without the network."""

from __future__ import annotations

from typing import Any

import discord

from bot.bot import missing_permissions
from bot.errors import UserError
from bot.rules import GuildRules, Member

Interaction = discord.Interaction[Any]


def member_of(interaction: Interaction) -> Member:
    user = interaction.user
    roles = frozenset(r.id for r in user.roles) if isinstance(user, discord.Member) else frozenset()
    return Member(user.id, roles, interaction.permissions.manage_guild)


def results_channel(interaction: Interaction, rules: GuildRules) -> int:
    """The channel the result will be posted in, after checking the bot may post there."""
    if rules.results_channel_id is not None:
        guild = interaction.guild
        channel = guild.get_channel(rules.results_channel_id) if guild else None
        if guild is None or channel is None:
            raise UserError(
                "The results channel an admin chose no longer exists; "
                "ask them to pick another with `/stems config`."
            )
        perms, in_thread = channel.permissions_for(guild.me), False
        channel_id = channel.id
    else:
        perms = interaction.app_permissions
        in_thread = isinstance(interaction.channel, discord.Thread)
        channel_id = interaction.channel_id or 0
    missing = missing_permissions(perms, in_thread=in_thread)
    if missing:
        raise UserError(
            f"I can't post results in <#{channel_id}>: I'm missing {', '.join(missing)}. "
            "Please ask a server admin to give me those permissions there. Nothing was spent."
        )
    return channel_id
