"""The job model: legal transitions, status words, stem names and order, delivery states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.jobs import (
    OPEN_STATES,
    TRANSITIONS,
    Delivery,
    IllegalTransition,
    Job,
    JobState,
    Mode,
    RemoteState,
    Stem,
    check_transition,
    parse_remote_state,
    stem_label,
    stem_name,
    stem_sort_key,
)


@pytest.mark.parametrize(("old", "new"), [
    (JobState.SUBMITTING, JobState.RUNNING),
    (JobState.SUBMITTING, JobState.INTERRUPTED),
    (JobState.RUNNING, JobState.SUCCEEDED),
    (JobState.RUNNING, JobState.TIMED_OUT),
    (JobState.TIMED_OUT, JobState.SUCCEEDED),  # a paid job re-checked after it ended
    (JobState.INTERRUPTED, JobState.RUNNING),  # an unconfirmed submission adopted
])
def test_legal_transitions_pass(old: JobState, new: JobState) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), [
    (JobState.SUBMITTING, JobState.SUCCEEDED),  # never succeeds without running
    (JobState.RUNNING, JobState.INTERRUPTED),  # only a submission can be interrupted
    (JobState.SUCCEEDED, JobState.FAILED),  # a success is final
    (JobState.CANCELLED, JobState.RUNNING),
    (JobState.FAILED, JobState.RUNNING),
    (JobState.RUNNING, JobState.RUNNING),
])
def test_illegal_transitions_raise_and_name_both_states(old: JobState, new: JobState) -> None:
    with pytest.raises(IllegalTransition, match=f"{old} -> {new}"):
        check_transition(old, new)


def test_only_submitting_and_running_are_open_and_success_and_cancel_are_dead_ends() -> None:
    assert OPEN_STATES == {JobState.SUBMITTING, JobState.RUNNING}
    assert [s for s in JobState if not s.is_terminal] == [JobState.SUBMITTING, JobState.RUNNING]
    assert JobState.SUCCEEDED not in TRANSITIONS and JobState.CANCELLED not in TRANSITIONS


@pytest.mark.parametrize(("raw", "state"), [
    ("SUCCESS", RemoteState.SUCCEEDED),
    (" Processing ", RemoteState.RUNNING),
    ("queued", RemoteState.PENDING),
    ("GENERATE_AUDIO_FAILED", RemoteState.FAILED),
    ("internal_error", RemoteState.FAILED),
    ("thinking-hard", RemoteState.UNKNOWN),
    (None, RemoteState.UNKNOWN),
    (3, RemoteState.UNKNOWN),
])
def test_status_words_are_read_liberally(raw: object, state: RemoteState) -> None:
    assert parse_remote_state(raw) is state


def test_stem_keys_in_any_spelling_get_one_name_and_a_human_label() -> None:
    for key in ("backing_vocals_url", "backingVocalsUrl", "Backing Vocals", "backing_vocals_audio"):
        assert stem_name(key) == "backing_vocals"
    assert stem_label("backingVocalsUrl") == "Backing vocals"
    assert stem_label("fx_url") == "FX / other"
    assert stem_label("originUrl") == "Original mix"


def test_stems_sort_as_a_musician_reads_them_and_unknown_ones_last() -> None:
    keys = ["zither_url", "drums_url", "vocal_url", "bass", "accordion"]
    ordered = sorted((Stem(k, stem_label(k), "u") for k in keys), key=stem_sort_key)
    assert [s.key for s in ordered] == ["vocal_url", "drums_url", "bass", "accordion", "zither_url"]


def test_only_waiting_and_pending_deliveries_are_unsettled() -> None:
    assert {d for d in Delivery if not d.is_final} == {Delivery.WAITING, Delivery.PENDING}


def test_a_jobs_duration_needs_both_ends() -> None:
    start = datetime(2026, 1, 20, tzinfo=UTC)
    job = Job(1, "t", "s", Mode.VOCAL, JobState.RUNNING, 1, 2, 3, created_at=start,
              submitted_at=start)
    assert job.is_open and job.duration_s is None

    job.state, job.finished_at = JobState.SUCCEEDED, start + timedelta(seconds=75)

    assert not job.is_open and job.duration_s == 75.0
