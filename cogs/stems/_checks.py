"""Who is asking, and can the bot post where the result must go: answered without the network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.bot import missing_permissions
from bot.errors import UserError
from bot.i18n import SOURCE, _, catalog_for, listed
from bot.rules import GuildRules, Member
from bot.service.followup import Viewer

if TYPE_CHECKING:
    from bot.bot import StemBot

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
            raise UserError(_(
                "The results channel an admin chose no longer exists; "
                "ask them to pick another with `/stems config`."
            ))
        perms, in_thread = channel.permissions_for(guild.me), False
        channel_id = channel.id
    else:
        perms = interaction.app_permissions
        in_thread = isinstance(interaction.channel, discord.Thread)
        channel_id = interaction.channel_id or 0
    missing = missing_permissions(perms, in_thread=in_thread)
    if missing:
        raise UserError(_(
            "I can't post results in {channel}: I'm missing {permissions}. Please ask a server "
            "admin to give me those permissions there. Nothing was spent.",
            channel=f"<#{channel_id}>", permissions=listed([_(name) for name in missing]),
        ))
    return channel_id


async def server_language(bot: StemBot, guild_id: int | None) -> str:
    """The language of public messages: the one an admin set, else the server's own, else
    English (a catalog name, see bot.i18n)."""
    if guild_id is None:
        return SOURCE
    rules = await bot.guild_store.rules(guild_id)
    if rules.language is not None:
        return rules.language
    guild = bot.get_guild(guild_id)
    return catalog_for(guild.preferred_locale) if guild is not None else SOURCE


def guild_id_of(interaction: Interaction) -> int:
    if interaction.guild_id is None:
        raise UserError(_("Stem commands work in servers only."))
    return interaction.guild_id


def viewer_of(interaction: Interaction) -> Viewer:
    member = member_of(interaction)
    return Viewer(member.user_id, interaction.guild_id, member.is_admin)

