"""issue 12: a job's ending is stored as a code and worded where shown, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import endings, i18n
from bot.endings import Ending
from bot.jobs import Job, JobState, Mode
from cogs.stems._words import reason
from tests._catalogs import tagged, write_catalog


def ended(state: JobState, error: str | None) -> Job:
    return Job(id=1, music_task_id="t", song_id="s", mode=Mode.VOCAL, state=state, guild_id=1,
               channel_id=2, requester_id=3, created_at=datetime.now(UTC), error=error)


@pytest.mark.parametrize(("code", "state", "words"), [
    (endings.TIMED_OUT, JobState.TIMED_OUT, "The stem service did not finish in time."),
    (endings.NOT_FOUND, JobState.FAILED, "lost track of this job"),
    (endings.NO_STEMS, JobState.FAILED, "gave back no stems"),
    (endings.API_FAILED, JobState.FAILED, "could not split this song"),
    (endings.UNCONFIRMED, JobState.INTERRUPTED, "so it may have been charged"),
    (endings.INTERRUPTED, JobState.INTERRUPTED, "so it may have been charged"),
    (endings.DEAD, JobState.INTERRUPTED, "so it may have been charged"),
    (endings.refused(402), JobState.FAILED, "out of credits for the stem service"),
    (endings.refused(422), JobState.FAILED, "The stem service refused this request."),
    (endings.cancelled_by(7), JobState.CANCELLED, "Cancelled by <@7>."),
])
def test_every_code_is_worded_for_members(code: str, state: JobState, words: str) -> None:
    text = reason(ended(state, code))

    assert words in text
    assert code not in text


@pytest.mark.parametrize(("state", "stored", "generic"), [
    (JobState.FAILED, "The API refused the request: validation failed", "could not split"),
    (JobState.FAILED, "the upstream model crashed", "could not split"),
    (JobState.FAILED, "refused:abc", "could not split"),
    (JobState.FAILED, None, "could not split"),
    (JobState.TIMED_OUT, "The separation did not finish in time; tracking stopped.", "in time"),
    (JobState.CANCELLED, "Cancelled on request.", "Cancelled on request."),
    (JobState.CANCELLED, "cancelled_by:", "Cancelled on request."),
    (JobState.INTERRUPTED, "The bot stopped while this job was being submitted", "charged"),
])
def test_an_old_sentence_or_unknown_value_shows_the_state_s_generic_message_not_itself(
    state: JobState, stored: str | None, generic: str
) -> None:
    text = reason(ended(state, stored))

    assert generic in text
    assert not stored or stored not in text or stored == text  # never the stored value as-is
    assert "API" not in text and "upstream" not in text


def test_codes_read_back_with_the_number_they_carry() -> None:
    assert endings.read("refused:402") == Ending(endings.REFUSED, 402)
    assert endings.read("cancelled_by:123456789012345678") == Ending("cancelled_by",
                                                                      123456789012345678)
    assert endings.read("no_stems") == Ending(endings.NO_STEMS)
    assert endings.read("The separation failed upstream.") is None
    assert endings.read("refused:") is None and endings.read(None) is None


@pytest.fixture
def translated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for language in i18n.SHIPPED:
        write_catalog(tmp_path, language, tagged(language))
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


def test_one_stored_code_reads_in_each_reader_s_language(translated: None) -> None:
    job = ended(JobState.FAILED, endings.refused(402))

    with i18n.speaking("pt_BR"):
        portuguese = reason(job)
    with i18n.speaking("ja"):
        japanese = reason(job)

    assert portuguese.startswith("[pt_BR] The bot is out of credits")
    assert japanese.startswith("[ja] The bot is out of credits")
