"""When to look at a job next: the first look, dense checks near the expected time, back-off."""

from __future__ import annotations

import pytest

from bot.jobs import Mode
from bot.scheduler.policy import DEFAULT_EXPECTED_S, Durations, backoff_delay, poll_delay


def delay(elapsed_s: float, *, callbacks: bool = False, learned: bool = True) -> float:
    """poll_delay for a job expected to take 100 s, between checks of 2 s and 30 s."""
    return poll_delay(elapsed_s, 100.0, min_s=2.0, max_s=30.0, callbacks=callbacks,
                      learned=learned)


def test_the_first_look_is_at_65_percent_of_the_expected_time() -> None:
    assert delay(0) == pytest.approx(65.0)
    assert delay(60) == pytest.approx(5.0)
    assert delay(64) == 2.0  # never sooner than min_s


def test_a_guessed_duration_caps_the_first_look_and_a_learned_one_does_not() -> None:
    assert delay(0, learned=False) == 30.0
    assert delay(0, learned=True) == pytest.approx(65.0)


def test_checks_are_densest_at_the_expected_time_and_spread_out_either_side() -> None:
    at = delay(100)
    before, after = delay(80), delay(150)

    assert at == pytest.approx(3.0)
    assert before == pytest.approx(3.0 + 0.07 * 20) and after == pytest.approx(3.0 + 0.07 * 50)
    assert delay(10_000) == 30.0  # never longer than max_s


def test_with_callbacks_polling_slows_five_times_as_a_safety_net() -> None:
    assert delay(100, callbacks=True) == pytest.approx(15.0)
    assert delay(10_000, callbacks=True) == 150.0
    assert delay(0, callbacks=True) == pytest.approx(325.0)


def test_backoff_doubles_from_min_up_to_max() -> None:
    delays = [backoff_delay(n, min_s=5.0, max_s=60.0) for n in range(0, 7)]
    assert delays == [5.0, 5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_durations_start_from_the_default_then_follow_the_median_of_recent_jobs() -> None:
    durations = Durations(keep=3)
    assert not durations.learned(Mode.VOCAL)
    assert durations.expected_s(Mode.VOCAL) == DEFAULT_EXPECTED_S[Mode.VOCAL]

    for seconds in (0.0, -4.0, 40.0, 50.0, 90.0, 1000.0):  # nonsense durations are ignored
        durations.add(Mode.VOCAL, seconds)

    assert durations.learned(Mode.VOCAL)
    assert durations.expected_s(Mode.VOCAL) == 90.0  # the median of the last three kept
    assert durations.expected_s(Mode.INSTRUMENTAL) == DEFAULT_EXPECTED_S[Mode.INSTRUMENTAL]


def test_poll_policy_waits_then_looks_densely_then_spreads_out() -> None:
    expected = 60.0
    delays = {t: poll_delay(t, expected, min_s=2, max_s=30) for t in (0, 30, 39, 60, 120, 600)}
    assert delays[0] == pytest.approx(39)  # the first look at 65 % of the expected time
    assert delays[30] == pytest.approx(9)  # ... which is at 39 s
    assert delays[39] == pytest.approx(3 + 0.07 * 21)
    assert delays[60] == pytest.approx(3)  # densest right at the expected time
    assert delays[120] == pytest.approx(3 + 0.07 * 60)
    assert delays[600] == 30  # long-running jobs: back to the maximum
    assert poll_delay(60, expected, min_s=2, max_s=30, callbacks=True) == pytest.approx(15)
    # while the expected time is only the default guess, the longest wait still caps it
    assert poll_delay(0, expected, min_s=2, max_s=30, learned=False) == 30


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert [backoff_delay(n, min_s=2, max_s=30) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_durations_are_learned_from_finished_jobs() -> None:
    learned = Durations()
    assert learned.expected_s(Mode.VOCAL) == 60.0
    for seconds in (40, 44, 48):
        learned.add(Mode.VOCAL, seconds)
    assert learned.expected_s(Mode.VOCAL) == 44
