"""The command tree and the one error table: every failure answered privately, in plain words."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import ApiError, UserError
from bot.i18n import N_, SOURCE, _, catalog_for, set_reader, speaking
from bot.said import api_words

log = logging.getLogger(__name__)

GENERIC_ERROR = N_("Something went wrong on our side. It has been logged; please try again later.")


@runtime_checkable
class Acknowledging(Protocol):
    """A client that records its time to first response (the bot does; see `StemBot`)."""

    def acknowledged(self, interaction: discord.Interaction[Any]) -> None: ...


class StemTree(app_commands.CommandTree[commands.Bot]):
    """Every command's errors are answered from the one table (`error_text`), privately.
    Each interaction's replies read in the member's language (`interaction.locale`)."""

    async def interaction_check(self, interaction: discord.Interaction[commands.Bot]) -> bool:
        read_privately(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[commands.Bot], error: app_commands.AppCommandError
    ) -> None:
        await reply_privately(interaction, error_text(error, where=f"/{_name(interaction)}"))


def read_privately(interaction: discord.Interaction[Any]) -> None:
    """From here on in this interaction's task, replies read in the member's own language."""
    set_reader(catalog_for(interaction.locale))


# Where a command's words are localized at sync. Names stay English everywhere (docs, support
# threads and muscle memory work across servers); descriptions and choice names are translated.
TRANSLATED = frozenset({
    app_commands.TranslationContextLocation.command_description,
    app_commands.TranslationContextLocation.group_description,
    app_commands.TranslationContextLocation.parameter_description,
    app_commands.TranslationContextLocation.choice_name,
})


class StemTranslator(app_commands.Translator):
    """The command tree's descriptions and choice names from the same catalogs as the replies."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = catalog_for(locale)
        if context.location not in TRANSLATED or language == SOURCE:
            return None
        with speaking(language):
            text = _(string.message)
        return text if text != string.message else None  # untranslated: Discord shows English


def _name(interaction: discord.Interaction[Any]) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


def error_text(error: BaseException, *, where: str = "an interaction") -> str:
    """The one error-to-reply table, for commands, buttons and follow-ups alike: user-facing
    errors in plain words; anything else is a bug, logged with its traceback."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, UserError):
        return user_error_text(cause, where)
    if isinstance(cause, ApiError):
        log.warning("API error %d in %s: %s", cause.code, where, cause.message)
        return api_error_text(cause)
    if isinstance(cause, app_commands.CommandOnCooldown):
        return _("Slow down: try again {when}.", when=duration_from_now(cause.retry_after))
    if isinstance(cause, app_commands.MissingPermissions):
        return _("You need the **Manage Server** permission for this.")
    if isinstance(cause, app_commands.CheckFailure):
        return _("You can't use this command here.")
    log.error("unexpected error in %s", where, exc_info=cause)
    return _(GENERIC_ERROR)


def duration_from_now(seconds: float) -> str:
    return discord.utils.format_dt(discord.utils.utcnow() + timedelta(seconds=seconds), "R")


def api_error_text(exc: ApiError) -> str:
    """Our explanation, in the reader's language. The API's own words go to the log only."""
    return _(exc.user_text)


def user_error_text(exc: UserError, where: str = "an interaction") -> str:
    """Our words (already in the reader's language); the API's words behind it are logged."""
    said = api_words(exc)
    if said is not None:
        log.info("refusal in %s; the API said: %s", where, said)
    return str(exc)


async def reply_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer only the invoker: the first response, or a private follow-up (which fills a
    private "thinking…"). Nothing is ever deferred publicly before an answer is known."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            if isinstance(interaction.client, Acknowledging):
                interaction.client.acknowledged(interaction)
        else:
            await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id)
