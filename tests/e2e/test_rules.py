"""Each server rule refuses privately, names itself and when it resets, and costs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import Mode
from tests.bot_world import SLOW_S, bot_world, private_answer
from tests.standin import Interaction


async def refusal(interaction: Interaction) -> str:
    """The private text a refused request got: at once, or under the private "thinking…"."""
    first = await interaction.wait_response()
    if first.type == 4:
        assert first.ephemeral
        return first.content
    return (await private_answer(interaction)).content


async def accepted(interaction: Interaction) -> None:
    """The request went through: its public status message shows a job."""
    status = await interaction.wait_reply(lambda m: not m.ephemeral)
    assert "#" in status.text, status.text


async def test_only_members_with_an_allowed_role_may_request(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        role = world.standin.add_role(world.guild, "stem makers")
        carol = world.standin.add_member(world.guild, "carol", roles=[role])
        await world.set_rules(allowed_role_ids=(role.id,))

        refused = await world.separate(world.alice)
        text = await refusal(refused)
        await accepted(await world.separate(carol))

        assert "Only members with one of these roles" in text and role.mention in text
        assert refused.responses[0].type == 4  # answered before any network work
        assert world.creates() == 1  # carol's
        assert world.standin.errors == []


async def test_a_mode_the_server_disallows_is_refused(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(allowed_modes=(Mode.VOCAL,))

        text = await refusal(await world.separate(world.alice, mode=Mode.INSTRUMENTAL))

        # issue 12: modes by their labels, never their values
        assert "does not allow “Full split (up to 12 stems)”" in text
        assert "Allowed: Vocals + instrumental (2 stems)" in text and "`vocal`" not in text
        assert world.creates() == 0
        assert world.standin.errors == []


@pytest.mark.parametrize(
    ("rules", "second", "words"),
    [
        pytest.param({"daily_user_limit": 1}, "alice",
                     ("Daily limit reached: 1 paid job per person per day", "It resets <t:"),
                     id="daily limit"),
        pytest.param({"max_open_per_user": 1}, "alice",
                     ("You already have 1 job running (the limit is 1)", "Wait for it to finish"),
                     id="open jobs"),
        pytest.param({"budget_credits": 1.0}, "bob",
                     ("credit budget is used up for this month", "0 of 1 left",
                      "It resets <t:"),
                     id="server budget"),
    ],
)
async def test_a_second_request_past_a_limit_is_refused_in_words_and_costs_nothing(
    tmp_path: Path, rules: dict[str, object], second: str, words: tuple[str, ...],
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(**rules, cooldown_s=0)
        await accepted(await world.separate(world.alice))

        text = await refusal(await world.separate(getattr(world, second), song="demo-song-2"))

        assert [w for w in words if w not in text] == []
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_the_cooldown_refuses_a_quick_second_request_and_says_when(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.set_rules(cooldown_s=30)
        await accepted(await world.separate(world.alice))

        refused = await world.separate(world.alice, song="demo-song-2")
        text = await refusal(refused)

        assert "Please wait between two jobs (30 seconds)" in text and "Try again <t:" in text
        assert refused.responses[0].type == 4
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_spending_rules_do_not_stop_a_free_join_of_a_running_job(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await accepted(await world.separate(world.alice))
        await world.set_rules(daily_user_limit=0, budget_credits=0.0)

        joined = await world.separate(world.bob)
        status = await joined.wait_reply(lambda m: not m.ephemeral and bool(m.embeds))

        assert "will be pinged too" in status.text
        assert world.creates() == 1
        assert world.standin.errors == []


async def outcome(interaction: Interaction) -> str:
    """"accepted", or the refusal text: for requests whose order is not known in advance."""
    first = await interaction.wait_response()
    if first.type == 4:
        return first.content
    settled = await interaction.wait_original(lambda m: not m.loading)
    return "accepted" if "is accepted" in settled.text else settled.content


async def test_two_members_asking_at_once_cannot_both_spend_the_last_credit(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await world.set_rules(budget_credits=1.0, cooldown_s=0)

        asked = [await world.separate(world.alice),
                 await world.separate(world.bob, song="demo-song-2")]
        said = sorted([await outcome(a) for a in asked])

        assert said[1] == "accepted"
        assert "credit budget is used up" in said[0]
        assert world.creates() == 1
        assert world.standin.errors == []
