"""Jobs, their states and legal transitions, and stems: pure data, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.i18n import N_, _


class Mode(StrEnum):
    """What the user asked the API to split the song into."""

    VOCAL = "vocal"
    INSTRUMENTAL = "instrumental"

    @property
    def label(self) -> str:
        """The member-facing name, in the reader's language (see bot.i18n)."""
        return _(MODE_LABELS[self])


# The one name of each mode, everywhere a member reads it: choices, lists, refusals.
MODE_LABELS = {
    Mode.VOCAL: N_("Vocals + instrumental (2 stems)"),
    Mode.INSTRUMENTAL: N_("Full split (up to 12 stems)"),
}


class JobState(StrEnum):
    """Where a job is in its life. An ended job changes again only where TRANSITIONS says:
    a re-check that finds the result, or the adoption of a submission we could not confirm."""

    SUBMITTING = "submitting"  # recorded, CreateTask not yet answered
    RUNNING = "running"  # the API accepted it; we poll TaskInfo
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # died while submitting: unknown if charged, never resent

    @property
    def is_terminal(self) -> bool:
        return self not in OPEN_STATES


OPEN_STATES = frozenset({JobState.SUBMITTING, JobState.RUNNING})

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.SUBMITTING: frozenset({JobState.RUNNING, JobState.FAILED, JobState.INTERRUPTED,
                                    JobState.CANCELLED}),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.TIMED_OUT,
                                 JobState.CANCELLED}),
    # A paid job re-checked after it ended may have finished after all.
    JobState.FAILED: frozenset({JobState.SUCCEEDED}),
    JobState.TIMED_OUT: frozenset({JobState.SUCCEEDED}),
    # An unconfirmed submission the API later revealed (a callback naming it) is adopted.
    JobState.INTERRUPTED: frozenset({JobState.RUNNING}),
}


class IllegalTransition(Exception):
    """A state change the job model forbids; always a bug in the caller."""


def check_transition(old: JobState, new: JobState) -> None:
    if new not in TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"{old} -> {new}")


class RemoteState(StrEnum):
    """A remote task's status, read liberally from whatever word the API uses."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


_STATUS_WORDS = {
    "pending": RemoteState.PENDING,
    "queued": RemoteState.PENDING,
    "waiting": RemoteState.PENDING,
    "submitted": RemoteState.PENDING,
    "running": RemoteState.RUNNING,
    "processing": RemoteState.RUNNING,
    "in_progress": RemoteState.RUNNING,
    "success": RemoteState.SUCCEEDED,
    "succeeded": RemoteState.SUCCEEDED,
    "completed": RemoteState.SUCCEEDED,
    "complete": RemoteState.SUCCEEDED,
    "failed": RemoteState.FAILED,
    "failure": RemoteState.FAILED,
    "error": RemoteState.FAILED,
}


def parse_remote_state(raw: object) -> RemoteState:
    """Map the API's status word to a RemoteState; anything new is UNKNOWN, not an error.

    Case never matters (resellers say PENDING, SUCCESS). A word that says it failed
    (GENERATE_AUDIO_FAILED, CREATE_TASK_FAILED, internal_error) is a failure at once, so the
    member hears it now rather than at the deadline. Whether an unfamiliar word is a success is
    decided by the reply's parser, from what the result carries.
    """
    if not isinstance(raw, str):
        return RemoteState.UNKNOWN
    word = raw.strip().lower()
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    if "fail" in word or "error" in word:
        return RemoteState.FAILED
    return RemoteState.UNKNOWN


@dataclass(frozen=True)
class Stem:
    """One separated track: the API's key, a human label, and its (temporary) URL."""

    key: str
    label: str
    url: str


# The order a musician expects to read stems in; unknown keys follow, alphabetically.
STEM_ORDER = (
    "vocal",
    "vocals",
    "backing_vocals",
    "instrumental",
    "drums",
    "bass",
    "guitar",
    "keyboard",
    "piano",
    "strings",
    "brass",
    "woodwinds",
    "percussion",
    "synth",
    "fx",
    "other",
    "origin",
)

_LABEL_OVERRIDES = {"vocal": "Vocals", "fx": "FX / other", "origin": "Original mix"}

# The original mix some resellers return beside the stems (`originUrl`): the song itself, so it
# is never listed as a stem (docs/crun-api.md).
NOT_STEMS = frozenset({"origin", "original", "original_mix"})

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def stem_name(key: str) -> str:
    """`backing_vocals_url`, `backingVocalsUrl` or "Backing Vocals" -> `backing_vocals`."""
    name = _CAMEL_HUMP.sub("_", key.strip()).lower()
    name = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    for suffix in ("_audio_url", "_url", "_audio"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def stem_label(key: str) -> str:
    """`backing_vocals_url` -> `Backing vocals`."""
    name = stem_name(key)
    if name in _LABEL_OVERRIDES:
        return _LABEL_OVERRIDES[name]
    words = re.sub(r"[^a-z0-9]+", " ", name).strip()
    return words.capitalize() if words else key


def stem_sort_key(stem: Stem) -> tuple[int, str]:
    name = stem_name(stem.key)
    rank = STEM_ORDER.index(name) if name in STEM_ORDER else len(STEM_ORDER)
    return rank, name


@dataclass
class Job:
    """A separation request as we track it. `id` is ours and the one users see."""

    id: int
    music_task_id: str
    song_id: str
    mode: Mode
    state: JobState
    guild_id: int | None
    channel_id: int | None
    requester_id: int | None
    created_at: datetime
    song_title: str | None = None
    remote_id: str | None = None
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime | None = None
    error: str | None = None  # why it ended: a code of bot/endings.py, worded where shown
    credits: float | None = None
    callback_token: str | None = None
    poll_count: int = 0
    stems: tuple[Stem, ...] = field(default_factory=tuple)
    error_detail: str | None = None  # the API's own words, for operators; never shown to members

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def duration_s(self) -> float | None:
        if self.submitted_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.submitted_at).total_seconds()


class Delivery(StrEnum):
    """Where one requester's result stands. `waiting` until the job ends."""

    WAITING = "waiting"
    PENDING = "pending"  # due: the job ended, nobody has been told yet
    CHANNEL = "channel"  # posted in the channel
    DM = "dm"  # the channel refused; sent as a direct message
    UNDELIVERABLE = "undeliverable"  # channel and DM refused; shown on /stems status
    SHOWN = "shown"  # answered on the spot (a reused result)
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self not in (Delivery.WAITING, Delivery.PENDING)


@dataclass(frozen=True)
class Subscription:
    """One requester waiting on a job; several can share a job and each is told once."""

    id: int
    job_id: int
    user_id: int | None
    guild_id: int | None
    channel_id: int | None
    created_at: datetime
    delivery: Delivery
    attempts: int = 0
    detail: str | None = None  # for operators (Discord's codes); never shown to members
    message_id: int | None = None
    locale: str | None = None  # the member's Discord locale when they asked: their late DM's
