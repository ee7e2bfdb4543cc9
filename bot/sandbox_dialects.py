"""The sandbox's dialects: every documented way of wording the same TaskInfo (docs/crun-api.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.jobs import RemoteState, parse_remote_state

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
