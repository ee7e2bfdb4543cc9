"""Reading TaskInfo replies: songs, music tasks and separations, never trusting their shape."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.errors import BAD_REPLY, ApiError
from bot.jobs import RemoteState, Stem, parse_remote_state, stem_label, stem_sort_key

log = logging.getLogger(__name__)

NO_STEMS = "no stems returned"
UNTITLED = "Untitled"


@dataclass(frozen=True)
class Song:
    """One song inside a Suno music task."""

    song_id: str
    title: str
    duration_s: float | None
    audio_url: str | None
    image_url: str | None


@dataclass(frozen=True)
class MusicTask:
    """The user's Suno music task, as TaskInfo shows it."""

    music_task_id: str
    state: RemoteState
    raw_status: str
    provider: str | None
    model: str | None
    songs: tuple[Song, ...]

    def song(self, song_id: str) -> Song | None:
        return next((s for s in self.songs if s.song_id == song_id), None)


@dataclass(frozen=True)
class Separation:
    """A separation task, as TaskInfo shows it. A success without stems reads as FAILED."""

    remote_id: str
    state: RemoteState
    raw_status: str
    stems: tuple[Stem, ...]
    error: str | None
    credits: float | None
    completed_at: datetime | None


def field_of(data: object, name: str) -> object:
    return data.get(name) if isinstance(data, dict) else None


def number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def required_number(data: object, name: str) -> float:
    value = number(field_of(data, name))
    if value is None:
        raise ApiError(BAD_REPLY, f"reply has no numeric {name}")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _task_data(data: object) -> tuple[dict[str, Any], str, RemoteState]:
    if not isinstance(data, dict):
        raise ApiError(BAD_REPLY, "TaskInfo reply has no data object")
    raw_status = data.get("status")
    raw_text = raw_status if isinstance(raw_status, str) else ""
    return data, raw_text, parse_remote_state(raw_status)


def parse_separation(remote_id: str, reply_data: object, reply_message: str) -> Separation:
    """A separation's TaskInfo; a success without stems reads as FAILED."""
    data, raw_status, state = _task_data(reply_data)
    result = data.get("result")
    stems: tuple[Stem, ...] = ()
    error = None
    if state is RemoteState.SUCCEEDED:
        stems = parse_stems(field_of(result, "media_info"))
        if not stems:
            state, error = RemoteState.FAILED, NO_STEMS
    elif state is RemoteState.FAILED:
        fallback = reply_message if reply_message.lower() not in ("", "success") else None
        error = _text(field_of(result, "message")) or fallback or "separation failed"
    return Separation(
        remote_id=_text(data.get("task_id")) or remote_id,
        state=state,
        raw_status=raw_status,
        stems=stems,
        error=error,
        credits=number(data.get("credits")),
        completed_at=_timestamp(data.get("complete_at")),
    )


def _timestamp(value: object) -> datetime | None:
    seconds = number(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_music_task(music_task_id: str, reply_data: object) -> MusicTask:
    """A music task's TaskInfo: its state and its songs."""
    data, raw_status, state = _task_data(reply_data)
    items = field_of(data.get("result"), "suno_data")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ApiError(BAD_REPLY, "TaskInfo result.suno_data is not a list")
    return MusicTask(
        music_task_id=_text(data.get("task_id")) or music_task_id,
        state=state,
        raw_status=raw_status,
        provider=_text(data.get("provider")),
        model=_text(field_of(data.get("param"), "model")),
        songs=tuple(song for item in items if (song := _song(item)) is not None),
    )


def _song(item: object) -> Song | None:
    song_id = _text(field_of(item, "suno_id"))
    if song_id is None:
        log.warning("ignoring a suno_data item without a suno_id")
        return None
    return Song(
        song_id=song_id,
        title=(_text(field_of(item, "title")) or "").strip() or UNTITLED,
        duration_s=number(field_of(item, "duration")),
        audio_url=_text(field_of(item, "suno_audio_url")),
        image_url=_text(field_of(item, "suno_image_url")),
    )


def parse_stems(media_info: object) -> tuple[Stem, ...]:
    """Every stem URL in `media_info`, whatever its keys, in a musician's order, no repeats."""
    if not isinstance(media_info, dict):
        return ()
    found = []
    for key, value in media_info.items():
        url = _stem_url(value)
        if isinstance(key, str) and url is not None:
            found.append(Stem(key=key, label=stem_label(key), url=url))
    seen: set[str] = set()
    stems = []
    for stem in sorted(found, key=stem_sort_key):
        if stem.url not in seen:
            seen.add(stem.url)
            stems.append(stem)
    return tuple(stems)


def _stem_url(value: object) -> str | None:
    if isinstance(value, dict):
        return _http_url(value.get("url")) or _http_url(value.get("audio_url"))
    return _http_url(value)


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
