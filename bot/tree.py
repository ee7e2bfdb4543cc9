"""The command tree and the one error table: every failure answered privately, in plain words."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import ApiError, UserError
from bot.said import api_words

log = logging.getLogger(__name__)

PLACEHOLDER_SETTLED = "This request did not go through; the reason was sent privately."
GENERIC_ERROR = "Something went wrong on our side. It has been logged; please try again later."


@runtime_checkable
class Acknowledging(Protocol):
    """A client that records its time to first response (the bot does; see `StemBot`)."""

    def acknowledged(self, interaction: discord.Interaction[Any]) -> None: ...


class StemTree(app_commands.CommandTree[commands.Bot]):
    """Every command's errors are answered from the one table (`error_text`), privately."""

    async def on_error(
        self, interaction: discord.Interaction[commands.Bot], error: app_commands.AppCommandError
    ) -> None:
        await reply_privately(interaction, error_text(error, where=f"/{_name(interaction)}"))


def _name(interaction: discord.Interaction[Any]) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


def error_text(error: BaseException, *, where: str = "an interaction") -> str:
    """The one error-to-reply table, for commands, buttons and follow-ups alike: user-facing
    errors in plain words; anything else is a bug, logged with its traceback."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, UserError):
        return user_error_text(cause)
    if isinstance(cause, ApiError):
        log.warning("API error %d in %s: %s", cause.code, where, cause.message)
        return api_error_text(cause)
    if isinstance(cause, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {cause.retry_after:.0f} s."
    if isinstance(cause, app_commands.MissingPermissions):
        return "You need the **Manage Server** permission for this."
    if isinstance(cause, app_commands.CheckFailure):
        return "You can't use this command here."
    log.error("unexpected error in %s", where, exc_info=cause)
    return GENERIC_ERROR


def api_error_text(exc: ApiError) -> str:
    """Our explanation, with the API's own words when it refused (a 422 is not always "not
    found"). Plain words for members: no codes, the text made inert."""
    said = _api_words(exc)
    if said is None:
        return exc.user_text
    if exc.code == 422:
        return f'The separation service refused the request: "{said}".'
    return f'{exc.user_text} (The separation service said: "{said}".)'


def _api_words(exc: BaseException) -> str | None:
    said = api_words(exc)
    if said is None:
        return None
    return discord.utils.escape_mentions(discord.utils.escape_markdown(said)).replace('"', "'")


def user_error_text(exc: UserError) -> str:
    """Our words; when the API refused the call behind it, its own words too."""
    said = _api_words(exc)
    return str(exc) if said is None else f'{exc} (The separation service said: "{said}".)'


async def reply_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer only the invoker, whatever was already sent (a public "thinking…" is replaced)."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            if isinstance(interaction.client, Acknowledging):
                interaction.client.acknowledged(interaction)
        elif interaction.extras.get("public_defer") and not interaction.extras.get("filled"):
            await _replace_public_placeholder(interaction, text)
        else:
            await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id)


async def _replace_public_placeholder(interaction: discord.Interaction[Any], text: str) -> None:
    """The private answer goes out first, then the public placeholder is removed; failing to
    remove it never hides the answer. (A follow-up would fill a still-"thinking" placeholder,
    publicly, so it is first settled with a neutral line.)"""
    try:
        await interaction.edit_original_response(content=PLACEHOLDER_SETTLED)
    except discord.HTTPException:
        # Unsettled, a follow-up would be public: removing it first is the only private way.
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
        return
    await interaction.followup.send(text, ephemeral=True)
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.warning("could not remove the public placeholder (interaction %s)", interaction.id)
