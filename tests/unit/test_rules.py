"""Server rules: pure checks, each refusal naming its rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.errors import UserError
from bot.jobs import Mode, stem_label
from bot.rules import (
    GuildRules,
    Member,
    Period,
    Usage,
    check_access,
    check_spending,
    period_end,
)

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


@pytest.mark.parametrize(
    ("key", "label"),
    [("backing_vocals_url", "Backing vocals"), ("vocal_url", "Vocals"), ("fx_url", "FX / other"),
     ("piano", "Piano"), ("drums_audio_url", "Drums")],
)
def test_stem_labels_come_from_keys(key: str, label: str) -> None:
    assert stem_label(key) == label
