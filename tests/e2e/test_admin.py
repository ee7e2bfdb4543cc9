"""/stems config and /stems credits: admin only, settings shown, saved and obeyed."""

from __future__ import annotations

from pathlib import Path

from bot.jobs import Mode
from bot.rules import Period
from tests.bot_world import bot_world
from tests.standin import Message


def field(message: Message, name: str) -> str:
    """The value of the embed field `name` (the first embed's)."""
    found = [f["value"] for f in message.embeds[0].get("fields", []) if f["name"] == name]
    assert found, f"no field {name!r} in {message.embeds[0]}"
    return str(found[0])


# --- /stems config -------------------------------------------------------------------------


async def test_config_is_refused_to_members_without_manage_server(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.command("stems config", {"daily_limit": 100}, user=world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral
        assert answer.content == "You need the **Manage Server** permission for this."
        rules = await world.bot.guild_store.rules(world.guild.id)
        assert rules.daily_user_limit is None
        assert world.standin.errors == []


async def test_config_without_options_shows_the_current_settings(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.command("stems config", user=world.admin)
        shown = await asked.wait_original()

        assert shown.ephemeral and shown.content.startswith("Current settings")
        assert field(shown, "Who may ask for stems") == "everyone"
        assert field(shown, "Results channel") == "where asked"
        assert field(shown, "Daily limit") == "no limit"
        assert field(shown, "Confirm the full split") == "yes"
        assert field(shown, "Open jobs per person") == "3"
        assert world.standin.errors == []


async def test_config_options_are_saved_and_shown(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        djs = world.standin.add_role(world.guild, "DJs")
        results = world.standin.add_channel(world.guild, "stem-results")
        options = {
            "allow_role": djs, "results_channel": results, "daily_limit": 5, "modes": "vocal",
            "budget": 50.0, "budget_period": "day", "confirm_full_split": False,
            "dm_fallback": False, "max_open_jobs": 2, "cooldown_s": 10,
        }

        changed = await world.command("stems config", options, user=world.admin)
        saved = await changed.wait_original()
        again = await world.command("stems config", user=world.admin)
        shown = await again.wait_original()

        assert saved.content == "Saved." and saved.ephemeral
        assert shown.content.startswith("Current settings")
        assert field(shown, "Who may ask for stems") == f"<@&{djs.id}>"
        assert field(shown, "Results channel") == f"<#{results.id}>"
        assert field(shown, "Daily limit") == "5 paid jobs per person"
        assert field(shown, "Allowed modes") == Mode.VOCAL.label
        assert field(shown, "Server budget") == "50 credits per day (0 spent so far)"
        assert field(shown, "Confirm the full split") == "no"
        assert field(shown, "DM when the channel fails") == "no"
        assert field(shown, "Open jobs per person") == "2"
        assert field(shown, "Cooldown") == "10 seconds"
        rules = await world.bot.guild_store.rules(world.guild.id)
        assert rules.allowed_role_ids == (djs.id,) and rules.budget_period == Period.DAY
        assert saved.pings_everyone is False and saved.pinged_roles == set()
        assert world.standin.errors == []


async def test_config_can_undo_roles_results_channel_and_limits(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        djs = world.standin.add_role(world.guild, "DJs")
        results = world.standin.add_channel(world.guild, "stem-results")
        first = await world.command(
            "stems config", {"allow_role": djs, "results_channel": results, "daily_limit": 5},
            user=world.admin,
        )
        await first.wait_original()

        undo = await world.command(
            "stems config", {"everyone": True, "results_where_asked": True, "daily_limit": 0},
            user=world.admin,
        )
        shown = await undo.wait_original()

        assert field(shown, "Who may ask for stems") == "everyone"
        assert field(shown, "Results channel") == "where asked"
        assert field(shown, "Daily limit") == "no limit"
        assert world.standin.errors == []


async def test_the_next_result_goes_to_the_configured_results_channel(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        results = world.standin.add_channel(world.guild, "stem-results")
        configured = await world.command(
            "stems config", {"results_channel": results}, user=world.admin
        )
        await configured.wait_original()

        asked = await world.separate(world.alice)
        result = await world.result()
        status = await asked.wait_reply(lambda m: m.edited and "Finished" in m.text)

        assert status.channel_id == world.channel.id
        assert results.mention in status.text  # still says where the result went
        assert result.channel_id == results.id
        assert result.pinged_user_ids == {world.alice.id}
        assert world.standin.channel_messages(results) == [result]
        assert world.standin.errors == []


async def test_a_results_channel_the_bot_cannot_post_in_refuses_before_paying(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        results = world.standin.add_channel(world.guild, "stem-results")
        configured = await world.command(
            "stems config", {"results_channel": results}, user=world.admin
        )
        await configured.wait_original()
        world.standin.set_bot_permissions(results, embed=False)

        asked = await world.separate(world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral and "Embed Links" in answer.content
        assert results.mention in answer.content
        assert world.creates() == 0


# --- /stems credits ------------------------------------------------------------------------


async def test_credits_show_the_api_balance_and_this_servers_spending(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        await world.result()

        asked = await world.command("stems credits", user=world.admin)
        shown = await asked.wait_reply(lambda m: bool(m.embeds))

        assert asked.responses[0].ephemeral and shown.ephemeral
        assert field(shown, "The bot's balance").startswith(f"{world.sandbox.balance:g} credits")
        assert world.sandbox.balance == 999
        assert field(shown, "Spent here this month") == "1"
        assert world.sandbox.calls["balance"] == 1
        assert world.standin.errors == []


async def test_credits_show_the_budget_left_when_one_is_set(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        configured = await world.command("stems config", {"budget": 20.0}, user=world.admin)
        await configured.wait_original()
        await world.separate(world.alice)
        await world.result()

        asked = await world.command("stems credits", user=world.admin)
        shown = await asked.wait_reply(lambda m: bool(m.embeds))

        assert field(shown, "Budget left").startswith("19 of 20; resets <t:")
        assert world.standin.errors == []


async def test_credits_are_refused_to_members(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.command("stems credits", user=world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral and "Manage Server" in answer.content
        assert world.sandbox.calls["balance"] == 0
        assert world.standin.errors == []
