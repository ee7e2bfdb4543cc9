"""Server rules and the polling policy: pure checks, each refusal naming its rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.errors import UserError
from bot.jobs import Mode, stem_label
from bot.policy import Durations, backoff_delay, poll_delay
from bot.rate import RequestRate
from bot.rules import (
    GuildRules,
    Member,
    Period,
    Usage,
    check_access,
    check_spending,
    period_end,
)
from tests._sandbox_fixtures import FakeClock

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp()
ALICE = Member(1, frozenset({10}))


def test_rules_round_trip_through_json() -> None:
    rules = GuildRules(allowed_role_ids=(5,), allowed_modes=(Mode.VOCAL,), budget_credits=50,
                       budget_period=Period.DAY)
    assert GuildRules.from_json(rules.to_json()) == rules


@pytest.mark.parametrize(
    ("rules", "usage", "member", "mode", "expected"),
    [
        (GuildRules(allowed_role_ids=(99,)), Usage(), ALICE, Mode.VOCAL,
         "one of these roles may ask for stems: <@&99>"),
        (GuildRules(allowed_modes=(Mode.VOCAL,)), Usage(), ALICE, Mode.INSTRUMENTAL,
         "does not allow “Full split (up to 12 stems)”"),
        (GuildRules(cooldown_s=60), Usage(last_request_at=NOW - 10), ALICE, Mode.VOCAL,
         f"Try again <t:{int(NOW + 50)}:R>"),
    ],
)
def test_access_refusals_name_their_rule(
    rules: GuildRules, usage: Usage, member: Member, mode: Mode, expected: str
) -> None:
    with pytest.raises(UserError, match=re.escape(expected)):
        check_access(rules, member, mode, NOW, usage)


def test_admins_pass_role_and_cooldown_rules() -> None:
    boss = Member(2, frozenset(), is_admin=True)
    check_access(GuildRules(allowed_role_ids=(99,)), boss, Mode.VOCAL, NOW,
                 Usage(last_request_at=NOW))


@pytest.mark.parametrize(
    ("rules", "usage", "expected"),
    [
        (GuildRules(), Usage(user_open_jobs=3), "limit is 3"),
        (GuildRules(daily_user_limit=2), Usage(user_jobs_today=2), "Daily limit reached"),
        (GuildRules(budget_credits=10, budget_period=Period.DAY), Usage(guild_spent=9.5),
         "budget is used up for today"),
    ],
)
def test_spending_refusals_name_their_rule_and_reset(
    rules: GuildRules, usage: Usage, expected: str
) -> None:
    with pytest.raises(UserError, match=expected) as caught:
        check_spending(rules, usage, 1.0, NOW)
    if "limit is" not in expected:
        assert "resets <t:" in str(caught.value)


def test_periods_end_at_midnight_and_month_end_utc() -> None:
    assert period_end(Period.DAY, NOW) == datetime(2026, 11, 26, tzinfo=UTC).timestamp()
    assert period_end(Period.MONTH, NOW) == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    december = datetime(2026, 12, 31, 23, tzinfo=UTC).timestamp()
    assert period_end(Period.MONTH, december) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()


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


def test_the_request_rate_allows_n_per_second_window() -> None:
    clock = FakeClock()
    rate = RequestRate(3, clock)
    assert [rate.try_take() for _ in range(4)] == [True, True, True, False]
    for _ in range(3):
        rate.release()
    clock.advance(0.5)
    assert not rate.try_take() and rate.wait_s() == pytest.approx(0.5)
    clock.advance(0.5)
    assert rate.try_take()


def test_a_call_holds_its_place_until_a_window_after_its_reply() -> None:
    clock = FakeClock()
    rate = RequestRate(1, clock)
    assert rate.try_take()
    clock.advance(5)  # a slow reply: still in flight, so nothing else may go
    assert not rate.try_take() and rate.wait_s() == 1.0
    rate.release()
    clock.advance(0.9)
    assert not rate.try_take()
    clock.advance(0.1)
    assert rate.try_take()


def test_slow_request_rates_space_single_requests() -> None:
    clock = FakeClock()
    rate = RequestRate(0.5, clock)
    assert rate.try_take() and not rate.try_take()
    rate.release()
    clock.advance(2.0)
    assert rate.try_take()


@pytest.mark.parametrize(
    ("key", "label"),
    [("backing_vocals_url", "Backing vocals"), ("vocal_url", "Vocals"), ("fx_url", "FX / other"),
     ("piano", "Piano"), ("drums_audio_url", "Drums")],
)
def test_stem_labels_come_from_keys(key: str, label: str) -> None:
    assert stem_label(key) == label
