"""Cleaning ids and API text: plain ids in (a song link is read as its id), inert text out."""

from __future__ import annotations

import pytest

from bot.api import MusicTask, Song
from bot.errors import UserError
from bot.jobs import RemoteState
from bot.service.ids import clean_music_task_id, clean_song_id, describe_songs, inert


def test_song_links_and_padded_ids_are_accepted() -> None:
    song = "b7e3c9a1-5d2f-4a6e-8b0c-3f1e7d9a2c45"
    assert clean_song_id(f"  {song} ") == song
    assert clean_song_id(f"https://suno.com/song/{song}") == song
    assert clean_song_id(f"https://suno.com/song/{song}?sh=abc") == song
    with pytest.raises(UserError):
        clean_song_id(f"https://evil.example/song/{song}")


@pytest.mark.parametrize("raw", ["", "has space", "a/b", "x" * 129])
def test_a_task_id_that_cannot_be_an_id_is_refused_in_words(raw: str) -> None:
    with pytest.raises(UserError, match="task id"):
        clean_music_task_id(raw)


def test_api_text_is_made_inert_for_discord() -> None:
    shown = inert("**bold** @everyone <@123>\n[link](x)", limit=80)

    assert "\\*\\*bold\\*\\*" in shown and "@\u200beveryone" in shown
    assert "\n" not in shown and "\\[link\\]" in shown
    assert len(inert("a" * 200, limit=10)) == 10


def test_a_long_song_list_is_cut_and_counted() -> None:
    songs = tuple(Song(f"s{n}", f"T{n}", None, None, None) for n in range(7))
    task = MusicTask("t", RemoteState.SUCCEEDED, "SUCCESS", "suno", None, songs)

    listed = describe_songs(task)

    assert listed.startswith("`s0` (T0), `s1` (T1)") and listed.endswith("and 2 more")
