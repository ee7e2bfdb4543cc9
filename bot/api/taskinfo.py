"""Reading TaskInfo answers: songs, music tasks and separations, never trusting their shape."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.errors import BAD_REPLY, ApiError
from bot.jobs import (
    NOT_STEMS,
    RemoteState,
    Stem,
    parse_remote_state,
    stem_label,
    stem_name,
    stem_sort_key,
)

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
    # False when no song could be read: items without a readable id, or no list where we look
    # (a finished task holds songs). The song check is then left to the API (its 422 proves
    # nothing was made), never refused on our own.
    songs_readable: bool = True

    def song(self, song_id: str) -> Song | None:
        return next((s for s in self.songs if s.song_id == song_id), None)


@dataclass(frozen=True)
class Separation:
    """A separation task, as TaskInfo shows it. A success may carry no stems (yet): the
    scheduler re-polls it a few times before failing it with NO_STEMS."""

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
    except (ValueError, OverflowError):  # a 400-digit integer is not a number we can use
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
    """A separation's TaskInfo, judged by what it carries as much as by its status word."""
    data, raw_status, state = _task_data(reply_data)
    result = data.get("result")
    stems = parse_stems(_stem_source(result)) if state is not RemoteState.FAILED else ()
    if state is RemoteState.UNKNOWN and stems:
        # An unfamiliar word (CALLBACK_EXCEPTION, a reseller's own) with stems is done.
        state = RemoteState.SUCCEEDED
    if state is not RemoteState.SUCCEEDED:
        stems = ()
    error = None
    if state is RemoteState.FAILED:
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


def _stem_source(result: object) -> object:
    """Where the stems are: `result.media_info` (an object or a list), or a bare list."""
    if isinstance(result, list):
        return result
    return field_of(result, "media_info")


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
    songs = tuple(song for item in items if (song := _song(item)) is not None)
    if state is RemoteState.UNKNOWN and items:
        state = RemoteState.SUCCEEDED  # an unfamiliar word, but the songs are there: finished
    return MusicTask(
        music_task_id=_text(data.get("task_id")) or music_task_id,
        state=state,
        raw_status=raw_status,
        provider=_text(data.get("provider")),
        model=_text(field_of(data.get("param"), "model")),
        songs=songs,
        songs_readable=bool(songs),
    )


def _song(item: object) -> Song | None:
    """One suno_data item: crun integrators call its id `suno_id`; Suno and resellers `id`."""
    song_id = _text(field_of(item, "suno_id")) or _text(field_of(item, "id"))
    if song_id is None:
        log.warning("ignoring a suno_data item without a readable song id")
        return None
    return Song(
        song_id=song_id,
        title=(_text(field_of(item, "title")) or "").strip() or UNTITLED,
        duration_s=number(field_of(item, "duration")),
        audio_url=_either(item, "suno_audio_url", "audio_url"),
        image_url=_either(item, "suno_image_url", "image_url"),
    )


def _either(item: object, *names: str) -> str | None:
    return next((text for name in names if (text := _text(field_of(item, name)))), None)


def parse_stems(media_info: object) -> tuple[Stem, ...]:
    """Every stem URL, whatever the shape, in a musician's order, no repeats.

    Shapes: an object of `<name>_url` / `<name>Url` keys (a value may be an object carrying
    `url` or `audio_url`; nulls are skipped), or a list of `{audio_url, stem_type_group_name}`.
    The original mix (`originUrl`) is the song itself and is left out.
    """
    if isinstance(media_info, dict):
        found = [_keyed_stem(key, value) for key, value in media_info.items()]
    elif isinstance(media_info, list):
        found = [_listed_stem(index, item) for index, item in enumerate(media_info, 1)]
    else:
        return ()
    seen: set[str] = set()
    stems = []
    for stem in sorted((s for s in found if s is not None), key=stem_sort_key):
        if stem.url not in seen and stem_name(stem.key) not in NOT_STEMS:
            seen.add(stem.url)
            stems.append(stem)
    return tuple(stems)


def _keyed_stem(key: object, value: object) -> Stem | None:
    url = _stem_url(value)
    if not isinstance(key, str) or url is None:
        return None
    return Stem(key=key, label=stem_label(key), url=url)


def _listed_stem(index: int, item: object) -> Stem | None:
    url = _stem_url(item)
    if url is None:
        return None
    name = _either(item, "stem_type_group_name", "stem_type_name", "name", "type")
    key = name.strip() if name and stem_name(name) else f"stem {index}"
    return Stem(key=key, label=stem_label(key), url=url)


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
