"""The sandbox's TaskInfo answers, in every documented dialect of docs/crun-api.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.jobs import RemoteState, parse_remote_state
from bot.sandbox.records import SandboxMusicTask, SandboxSeparation
from bot.sandbox.seed import NESTED_KEY

StemShape = Literal["snake", "camel", "list"]
Words = Literal["lower", "reseller"]

# The reseller words for the states the sandbox can be in (PENDING, SUCCESS, ..._FAILED).
_RESELLER_WORDS = {
    RemoteState.PENDING: "PENDING",
    RemoteState.RUNNING: "PENDING",
    RemoteState.SUCCEEDED: "SUCCESS",
    RemoteState.FAILED: "GENERATE_AUDIO_FAILED",
}
_LOWER_WORDS = {RemoteState.RUNNING: "running", RemoteState.SUCCEEDED: "success",
                RemoteState.FAILED: "failed"}  # fmt: skip

# Every camelCase key resellers document; the ones a mode doesn't produce are null.
CAMEL_KEYS = (
    "vocalUrl", "instrumentalUrl", "backingVocalsUrl", "drumsUrl", "bassUrl", "guitarUrl",
    "pianoUrl", "keyboardUrl", "percussionUrl", "stringsUrl", "synthUrl", "fxUrl", "brassUrl",
    "woodwindsUrl",
)  # fmt: skip
ORIGIN_KEY = "originUrl"  # the original mix: not a stem
GROUP_NAMES = {"vocal": "Vocals", "backing_vocals": "Backing Vocals", "fx": "FX"}


@dataclass(frozen=True)
class Dialect:
    """How the sandbox words its answers: stem shape, song keys and status words."""

    name: str
    stems: StemShape = "snake"
    song_id_key: str = "suno_id"  # Suno's own clips and resellers say "id"
    song_url_prefix: str = "suno_"  # "" gives audio_url / image_url
    words: Words = "lower"

    def word(self, state: RemoteState) -> str:
        """The status word for a separation in `state`."""
        table = _RESELLER_WORDS if self.words == "reseller" else _LOWER_WORDS
        return table.get(state, state.value)

    def music_word(self, status: str) -> str:
        """A music task's status as this dialect says it (the lower dialect keeps it verbatim)."""
        if self.words == "lower":
            return status
        return _RESELLER_WORDS.get(parse_remote_state(status), status)


DIALECTS = {
    dialect.name: dialect
    for dialect in (
        Dialect("snake"),
        Dialect("camel", stems="camel"),
        Dialect("list", stems="list", song_id_key="id", song_url_prefix=""),
        Dialect("reseller", stems="camel", song_id_key="id", song_url_prefix="", words="reseller"),
    )
}


def dialect_named(dialect: str | Dialect) -> Dialect:
    if isinstance(dialect, Dialect):
        return dialect
    if dialect not in DIALECTS:
        raise ValueError(f"unknown sandbox dialect {dialect!r}; expected one of {sorted(DIALECTS)}")
    return DIALECTS[dialect]


def camel_key(snake: str) -> str:
    """`backing_vocals_url` -> `backingVocalsUrl`."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), snake)


def camel_media(urls: dict[str, str], origin_url: str) -> dict[str, object]:
    media: dict[str, object] = {key: None for key in CAMEL_KEYS}
    media.update({camel_key(key): url for key, url in urls.items()})
    media[ORIGIN_KEY] = origin_url
    return media


def listed_media(urls: dict[str, str], remote_id: str, duration_s: float) -> list[object]:
    items: list[object] = []
    for index, (key, url) in enumerate(urls.items(), 1):
        name = key.removesuffix("_url")
        group = GROUP_NAMES.get(name, name.replace("_", " ").title())
        items.append({"audio_url": url, "stem_type_group_name": group,
                      "duration": duration_s, "id": f"{remote_id}-{index}"})  # fmt: skip
    return items


def separation_data(
    sep: SandboxSeparation, status: str, model: str, origin: str, dialect: Dialect
) -> object:
    """TaskInfo `data` for a separation, shaped as the doc shows it, in `dialect`."""
    done_at = sep.finished_at
    result: object = None
    if sep.state is RemoteState.SUCCEEDED:
        result = {"media_info": _media_info(sep, origin, dialect)}
    elif sep.state is RemoteState.FAILED:
        result = {"message": sep.message}
    return {
        "task_id": sep.remote_id,
        "provider": "Suno",
        "model_version": "suno-vocal-separation",
        "status": status,
        "param": {
            "model": model,
            "callback_url": sep.callback_url,
            "input": {"task_id": sep.music_task_id, "suno_id": sep.song_id, "mode": sep.mode.value},
        },
        "create_at": int(sep.created_at),
        "result": result,
        "duration_s": None if done_at is None else round(done_at - sep.created_at, 3),
        "complete_at": None if done_at is None else int(done_at),
        "credits": None if done_at is None else sep.credits,
        "source": "api",
    }


def _media_info(sep: SandboxSeparation, origin: str, dialect: Dialect) -> object:
    urls = {key: origin + path for key, path in sep.stems.items()}
    if dialect.stems == "camel":
        return camel_media(urls, _song_file(origin, sep.music_task_id, sep.song_id, "mp3"))
    if dialect.stems == "list":
        return listed_media(urls, sep.remote_id, 150.0)
    media: dict[str, object] = dict(urls)
    if NESTED_KEY in media:
        media[NESTED_KEY] = {"url": media[NESTED_KEY], "format": "mp3"}
    return media


def _song_file(origin: str, music_task_id: str, song_id: str, ext: str) -> str:
    return f"{origin}/files/{music_task_id}/{song_id}.{ext}"


def music_task_data(task: SandboxMusicTask, origin: str, dialect: Dialect) -> object:
    """TaskInfo `data` for a Suno music task; songs only once it finished."""
    prefix = dialect.song_url_prefix
    songs = [
        {
            dialect.song_id_key: song_id,
            "title": title,
            "duration": 150.0 + 17.3 * index,
            f"{prefix}audio_url": _song_file(origin, task.music_task_id, song_id, "mp3"),
            f"{prefix}image_url": _song_file(origin, task.music_task_id, song_id, "jpeg"),
        }
        for index, (song_id, title) in enumerate(task.songs)
    ]
    return {
        "task_id": task.music_task_id,
        "provider": "Suno",
        "status": dialect.music_word(task.status),
        "param": {"model": task.model, "input": {"mode": "simple", "prompt": "a sandbox song"}},
        "create_at": int(task.created_at),
        "result": {"suno_data": songs} if task.finished else None,
    }
