"""Cleaning what members type and what the API names: plain ids in, inert text out."""

from __future__ import annotations

import re

from bot.api import MusicTask
from bot.errors import UserError
from bot.i18n import _, listed, ngettext

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SONG_LINK = re.compile(
    r"(?:https?://)?(?:www\.|app\.)?suno\.com/song/([A-Za-z0-9_-]{1,128})/?(?:[?#]\S*)?",
    re.IGNORECASE,
)


def clean_music_task_id(raw: str) -> str:
    value = raw.strip()
    if not _ID.fullmatch(value):
        raise UserError(_(
            "That music task id doesn't look right: use the id of a finished Suno music task "
            "(1-128 letters, digits, `-` or `_`)."
        ))
    return value


def clean_song_id(raw: str) -> str:
    value = raw.strip()
    link = _SONG_LINK.fullmatch(value)
    if link:
        return link.group(1)
    if not _ID.fullmatch(value):
        raise UserError(_(
            "That song id doesn't look right: use the song's id or its "
            "`https://suno.com/song/…` link."
        ))
    return value


SONGS_LISTED = 5  # a music task holds at most 2; a hostile reply must not overflow the message
# Inline markup only: the list is one line, so line-start syntax (#, >, -) can't apply.
_MARKUP = re.compile(r"([\\*_~`|\[\]<])")


def inert(text: str, limit: int = 80) -> str:
    """API text made plain for Discord: markdown escaped, mentions broken, one bounded line.

    bot/ does not import discord, so this is a small cousin of the cog's `safe`.
    """
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[: limit - 1] + "…"
    return _MARKUP.sub(r"\\\1", line).replace("@", "@\u200b")


def _song_ref(song_id: str) -> str:
    return f"`{song_id}`" if _ID.fullmatch(song_id) else inert(song_id)


def describe_songs(task: MusicTask) -> str:
    shown = task.songs[:SONGS_LISTED]
    named = [f"{_song_ref(s.song_id)} ({inert(s.title)})" for s in shown]
    more = len(task.songs) - len(shown)
    if more > 0:
        named.append(ngettext("{n} more", "{n} more", more))
    return listed(named) or _("no songs")
