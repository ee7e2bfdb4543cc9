"""What a member asks for (Request, Limits) and what comes of it (Submission, Outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.jobs import Job, Mode
from bot.rules import GuildRules, Member
from bot.service.ids import clean_music_task_id, clean_song_id


class Outcome(StrEnum):
    CREATED = "created"  # a new paid job
    JOINED = "joined"  # someone else's job for the same song is running; you will be told too
    REUSED = "reused"  # a finished result, at no cost


@dataclass(frozen=True)
class Request:
    """What a member asked for. The ids are cleaned once, as the request is made (UserError when
    they can't be ids), so every later step reads plain ids."""

    music_task_id: str
    song_id: str  # given as an id or a suno.com song link; kept as the id
    mode: Mode
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None
    locale: str | None = None  # the member's Discord locale ("pt-BR"): their late DM's language

    def __post_init__(self) -> None:
        object.__setattr__(self, "music_task_id", clean_music_task_id(self.music_task_id))
        object.__setattr__(self, "song_id", clean_song_id(self.song_id))


@dataclass(frozen=True)
class Limits:
    """The server's rules and the member asking: checked in the transaction that records the
    charge, so requests sent together cannot pass a limit between them."""

    rules: GuildRules
    member: Member


@dataclass(frozen=True)
class Submission:
    job: Job
    outcome: Outcome


class MadeMeanwhile(Exception):
    """The song's result was finished by another process while this request was checked."""
