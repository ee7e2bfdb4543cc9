"""Every documented TaskInfo shape and status word, over loopback HTTP (issue 9, 3 and 8)."""

from __future__ import annotations

import pytest

from bot.jobs import RemoteState, parse_remote_state
from tests._sandbox_fixtures import canned_api, task_info

CDN = "https://cdn.example"


def camel(*names: str) -> dict[str, object]:
    """camelCase media_info as resellers document it: every key, null where the mode made none."""
    every = (
        "vocal", "instrumental", "backingVocals", "drums", "bass", "guitar", "piano", "keyboard",
        "percussion", "strings", "synth", "fx", "brass", "woodwinds",
    )  # fmt: skip
    media: dict[str, object] = {
        f"{name}Url": (f"{CDN}/{name}.mp3" if name in names else None) for name in every
    }
    media["originUrl"] = f"{CDN}/origin.mp3"
    return media


async def separation_labels(status: str, result: object) -> tuple[RemoteState, list[str]]:
    async with canned_api(200, task_info(status, result)) as api:
        separation = await api.separation("sep-x")
    return separation.state, [s.label for s in separation.stems]


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("GENERATE_AUDIO_FAILED", RemoteState.FAILED),
        ("CREATE_TASK_FAILED", RemoteState.FAILED),
        ("internal_error", RemoteState.FAILED),
        ("PENDING", RemoteState.PENDING),
        ("SUCCESS", RemoteState.SUCCEEDED),
        ("Running", RemoteState.RUNNING),
        ("CALLBACK_EXCEPTION", RemoteState.UNKNOWN),
        ("weird", RemoteState.UNKNOWN),
        (None, RemoteState.UNKNOWN),
    ],
)
def test_status_words_are_judged_by_what_they_say(word: object, state: RemoteState) -> None:
    assert parse_remote_state(word) is state


async def test_a_word_that_says_it_failed_fails_at_once_with_the_reason() -> None:
    async with canned_api(200, task_info("GENERATE_AUDIO_FAILED", {"message": "no vocals"})) as api:
        separation = await api.separation("sep-x")
    assert (separation.state, separation.error) == (RemoteState.FAILED, "no vocals")


@pytest.mark.parametrize("word", ["CALLBACK_EXCEPTION", "finished_ok", "DONE"])
async def test_an_unfamiliar_word_whose_result_carries_stems_is_a_success(word: str) -> None:
    state, labels = await separation_labels(word, {"media_info": camel("vocal", "instrumental")})
    assert (state, labels) == (RemoteState.SUCCEEDED, ["Vocals", "Instrumental"])


async def test_a_callback_exception_without_stems_is_not_final() -> None:
    state, labels = await separation_labels("CALLBACK_EXCEPTION", None)
    assert (state, labels) == (RemoteState.UNKNOWN, [])


async def test_camel_keys_are_labelled_in_words_and_nulls_and_the_original_mix_skipped() -> None:
    names = ("vocal", "backingVocals", "drums", "bass", "piano", "fx")
    state, labels = await separation_labels("SUCCESS", {"media_info": camel(*names)})
    # The original mix is the song itself, not a stem: it is left out (docs/crun-api.md).
    assert state is RemoteState.SUCCEEDED
    assert labels == ["Vocals", "Backing vocals", "Drums", "Bass", "Piano", "FX / other"]


async def test_snake_case_origin_url_is_not_a_stem() -> None:
    media = {"origin_url": f"{CDN}/o.mp3", "vocal_url": f"{CDN}/v.mp3"}
    assert await separation_labels("success", {"media_info": media}) == (
        RemoteState.SUCCEEDED, ["Vocals"],
    )


async def test_a_list_of_stem_objects_is_delivered_with_its_group_names() -> None:
    items = [
        {"audio_url": f"{CDN}/i.mp3", "stem_type_group_name": "Instrumental", "duration": 180.5,
         "id": "a1"},
        {"audio_url": f"{CDN}/b.mp3", "stem_type_group_name": "Backing Vocals", "id": "a3"},
        {"audio_url": f"{CDN}/v.mp3", "stem_type_group_name": "Vocals", "duration": 180.5,
         "id": "a2"},
        {"audio_url": None, "stem_type_group_name": "Drums", "id": "a4"},
        {"url": f"{CDN}/k.mp3", "stem_type_group_name": "Kazoo"},
        "junk",
    ]  # fmt: skip
    for result in ({"media_info": items}, items):
        state, labels = await separation_labels("success", result)
        assert state is RemoteState.SUCCEEDED
        assert labels == ["Vocals", "Backing vocals", "Instrumental", "Kazoo"]


async def test_a_list_item_without_a_group_name_still_gets_a_word_label() -> None:
    items = [{"audio_url": f"{CDN}/x.mp3", "id": "a1"}, {"audio_url": f"{CDN}/y.mp3"}]
    state, labels = await separation_labels("success", {"media_info": items})
    assert (state, labels) == (RemoteState.SUCCEEDED, ["Stem 1", "Stem 2"])


async def test_url_objects_in_a_camel_media_info_are_read() -> None:
    media = {"vocalUrl": {"url": f"{CDN}/v.mp3"}, "instrumentalUrl": {"audio_url": f"{CDN}/i.mp3"}}
    assert await separation_labels("SUCCESS", {"media_info": media}) == (
        RemoteState.SUCCEEDED, ["Vocals", "Instrumental"],
    )


# --- music tasks ------------------------------------------------------------------------


async def test_songs_keyed_id_with_plain_url_names_are_read() -> None:
    songs = [
        {"id": "c1", "title": "Clip", "duration": 99.5, "audio_url": f"{CDN}/c1.mp3",
         "image_url": f"{CDN}/c1.jpeg"},
        {"suno_id": "s2", "title": "Crun", "suno_audio_url": f"{CDN}/s2.mp3"},
    ]  # fmt: skip
    async with canned_api(200, task_info("SUCCESS", {"suno_data": songs})) as api:
        task = await api.music_task("m1")
    clip = task.song("c1")
    assert clip is not None and (clip.title, clip.duration_s) == ("Clip", 99.5)
    assert (clip.audio_url, clip.image_url) == (f"{CDN}/c1.mp3", f"{CDN}/c1.jpeg")
    assert task.song("s2") is not None
    assert task.songs_readable and task.state is RemoteState.SUCCEEDED


async def test_a_music_task_with_an_unfamiliar_word_but_songs_is_finished() -> None:
    songs = [{"id": "c1", "title": "Clip"}]
    async with canned_api(200, task_info("all_done_here", {"suno_data": songs})) as api:
        task = await api.music_task("m1")
    assert task.state is RemoteState.SUCCEEDED


@pytest.mark.parametrize(
    "result",
    [
        {"suno_data": [{"clip": {"uuid": "c1"}, "title": "Clip"}, {"id": 7}]},
        {"suno_data": []},
        {"sunoData": [{"id": "c1"}]},  # a list where we don't look: we can't read it either
    ],
)
async def test_a_song_list_without_readable_ids_is_marked_unreadable(result: object) -> None:
    async with canned_api(200, task_info("success", result)) as api:
        task = await api.music_task("m1")
    async with canned_api(200, task_info("success", {"suno_data": [{"id": "c1"}]})) as api:
        readable = await api.music_task("m1")
    assert (task.songs, task.songs_readable) == ((), False)
    assert readable.songs_readable
