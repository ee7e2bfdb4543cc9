"""The Discord stand-in enforces Discord's rules against the real discord.py client."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import pytest

from tests._sandbox_fixtures import FakeClock
from tests.standin import (
    Channel,
    DiscordStandin,
    Guild,
    StandinError,
    User,
    running_bot,
)
from tests.standin.demo_bot import DemoBot
from tests.standin.mentions import compute_mentions


@dataclass
class Scene:
    standin: DiscordStandin
    clock: FakeClock
    guild: Guild
    channel: Channel
    alice: User
    bob: User


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    clock = FakeClock()
    async with DiscordStandin(clock=clock) as standin:
        guild = standin.add_guild()
        channel = standin.add_channel(guild)
        alice, bob = standin.add_member(guild, "alice"), standin.add_member(guild, "bob")
        yield Scene(standin, clock, guild, channel, alice, bob)


@pytest.fixture
async def bot(scene: Scene) -> AsyncIterator[DemoBot]:
    async with running_bot(DemoBot(), scene.standin) as running:
        guild = discord.Object(scene.guild.id)
        running.tree.copy_global_to(guild=guild)
        await running.tree.sync(guild=guild)
        yield running


def text_channel(bot: DemoBot, scene: Scene) -> discord.TextChannel:
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_bot_logs_in_and_sees_its_guild(scene: Scene, bot: DemoBot) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)

    guild = bot.get_guild(scene.guild.id)
    assert guild is not None and guild.get_channel(scene.channel.id) is not None
    assert bot.user is not None and bot.user.id == scene.standin.bot_user_id
    assert bot.application_id == scene.standin.application_id
    assert scene.standin.gateway.identify_count == 1
    assert scene.standin.errors == []


async def test_a_wrong_token_cannot_log_in(scene: Scene) -> None:
    bot = DemoBot()
    with scene.standin.patch_discord(), pytest.raises(discord.LoginFailure):
        try:
            await bot.login("not-the-token")
        finally:
            await bot.close()

    assert [e.status for e in scene.standin.errors] == [401]


async def test_privileged_intents_close_the_gateway_with_4014(scene: Scene) -> None:
    intents = discord.Intents.default()
    intents.members = True

    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(DemoBot(intents), scene.standin):
            pass


async def test_guild_sync_registers_commands_once(scene: Scene, bot: DemoBot) -> None:
    names = sorted(c["name"] for c in scene.standin.commands[scene.guild.id])

    assert names == ["announce", "demo", "feedback", "ping", "slow"]
    assert scene.standin.sync_calls == {scene.guild.id: 1}
    with pytest.raises(StandinError, match="not synced"):
        await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "nope")


async def test_deferred_followup_fills_the_original_and_keeps_it_public(
    scene: Scene, bot: DemoBot
) -> None:
    interaction = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "ping")

    second = await interaction.wait_followup()

    assert [r.type for r in interaction.responses] == [5]
    assert interaction.original is not None
    assert (interaction.original.content, interaction.original.ephemeral) == ("pong", False)
    assert not interaction.original.loading
    assert (second.content, second.ephemeral) == ("second", True)


async def test_a_second_acknowledgement_is_refused_with_40060(scene: Scene, bot: DemoBot) -> None:
    interaction = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "ping")
    await interaction.wait_followup()
    seen: discord.Interaction = await bot.outcomes.get("ping")

    with pytest.raises(discord.InteractionResponded):  # discord.py refuses before asking
        await seen.response.send_message("again")
    url = f"{scene.standin.base_url}/interactions/{interaction.id}/{interaction.token}/callback"
    async with aiohttp.ClientSession() as http, http.post(url, json={"type": 4}) as answer:
        assert answer.status == 400
        assert (await answer.json())["code"] == 40060

    assert [e.code for e in scene.standin.errors] == [40060]


async def test_a_first_response_after_3_seconds_is_refused(scene: Scene, bot: DemoBot) -> None:
    interaction = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "slow")
    await bot.outcomes.get("slow started")

    scene.clock.advance(3.1)
    bot.release.set()
    error = await bot.outcomes.get("slow")

    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert interaction.responses == []
    assert [e.code for e in scene.standin.errors] == [10062]


async def test_a_followup_after_15_minutes_is_refused(scene: Scene, bot: DemoBot) -> None:
    interaction = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "ping")
    await interaction.wait_followup()
    seen: discord.Interaction = await bot.outcomes.get("ping")

    scene.clock.advance(15 * 60 + 1)
    with pytest.raises(discord.HTTPException) as raised:
        await seen.followup.send("too late")

    assert (raised.value.status, raised.value.code) == (401, 50027)


async def test_oversize_messages_are_refused_as_invalid_form_body(
    scene: Scene, bot: DemoBot
) -> None:
    channel = text_channel(bot, scene)
    too_many_rows = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": f"{r}"}]}
        for r in range(6)
    ]
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="x" * 81, custom_id="long"))
    attempts = [
        channel.send("x" * 2001),
        channel.send(embed=discord.Embed(title="t" * 257)),
        channel.send(embeds=[discord.Embed(description="d" * 4000) for _ in range(2)]),
        channel.send(view=view),
        bot.http.request(
            discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id),
            json={"components": too_many_rows},
        ),
    ]

    for attempt in attempts:
        with pytest.raises(discord.HTTPException) as raised:
            await attempt
        assert (raised.value.status, raised.value.code) == (400, 50035)

    assert [e.code for e in scene.standin.errors] == [50035] * 5
    assert "Embed size exceeds maximum size of 6000" in scene.standin.errors[2].reason
    assert scene.standin.channel_messages(scene.channel) == []


async def test_an_empty_message_is_refused(scene: Scene, bot: DemoBot) -> None:
    with pytest.raises(discord.HTTPException) as raised:
        await text_channel(bot, scene).send()

    assert raised.value.code == 50006


async def test_without_send_permission_posting_is_forbidden(scene: Scene, bot: DemoBot) -> None:
    scene.standin.set_bot_permissions(scene.channel, send=False)

    await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "announce", {"text": "hello"}
    )
    error = await bot.outcomes.get("announce")

    assert isinstance(error, discord.Forbidden) and error.code == 50013
    assert not (await bot.outcomes.get("app_permissions")).send_messages


async def test_embeds_without_embed_links_are_forbidden(scene: Scene, bot: DemoBot) -> None:
    scene.standin.set_bot_permissions(scene.channel, embed=False)

    with pytest.raises(discord.Forbidden):
        await text_channel(bot, scene).send(embed=discord.Embed(title="hi"))
    await text_channel(bot, scene).send("plain text still works")


async def test_a_deleted_channel_is_not_found(scene: Scene, bot: DemoBot) -> None:
    scene.standin.delete_channel(scene.channel)

    with pytest.raises(discord.NotFound) as raised:
        await bot.get_partial_messageable(scene.channel.id).send("anyone?")

    assert raised.value.code == 10003


async def test_closed_dms_are_forbidden(scene: Scene, bot: DemoBot) -> None:
    scene.standin.close_dms(scene.bob)
    stranger = scene.standin.add_user("stranger")  # shares no guild with the bot
    alice, bob = await bot.fetch_user(scene.alice.id), await bot.fetch_user(scene.bob.id)

    await alice.send("hi alice")
    for user in (bob, await bot.fetch_user(stranger.id)):
        with pytest.raises(discord.Forbidden) as raised:
            await user.send("hi")
        assert raised.value.code == 50007

    assert [m.content for m in scene.standin.dm_messages(scene.alice)] == ["hi alice"]


async def test_echo_pings_only_the_requester(scene: Scene, bot: DemoBot) -> None:
    role = scene.standin.add_role(scene.guild, "fans")
    text = f"@everyone {scene.bob.mention} {role.mention} **bold**"

    interaction = await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "demo echo", {"text": text}
    )
    message = await interaction.wait_original()

    assert message.pinged_user_ids == {scene.alice.id}
    assert not message.pings_everyone and message.pinged_roles == set()
    assert "\\*\\*bold\\*\\*" in message.content


def test_allowed_users_alone_do_not_stop_everyone_pings() -> None:
    """discord.py's AllowedMentions(users=[...]) still parses @everyone and roles."""
    allowed = discord.AllowedMentions(users=[discord.Object(1)]).to_dict()

    pings = compute_mentions("@everyone <@1> <@2> <@&3>", dict(allowed))

    assert (pings.users, pings.roles, pings.everyone) == ({1}, {3}, True)
    assert compute_mentions("@here <@2>", None).everyone


async def test_enforce_nonce_returns_the_existing_message(scene: Scene, bot: DemoBot) -> None:
    channel = text_channel(bot, scene)

    first = await channel.send("result ready", nonce="job-7")
    again = await channel.send("result ready", nonce="job-7")

    assert first.id == again.id
    assert len(scene.standin.channel_messages(scene.channel)) == 1


async def test_a_429_is_retried_by_discordpy(scene: Scene, bot: DemoBot) -> None:
    scene.standin.rate_limit_next("POST /channels/", retry_after_s=0.01)

    await text_channel(bot, scene).send("eventually")

    posts = [r for r in scene.standin.requests if r[0] == "POST" and "/channels/" in r[1]]
    assert len(posts) == 2 and len(scene.standin.rate_limits) == 1
    assert [m.content for m in scene.standin.channel_messages(scene.channel)] == ["eventually"]


async def test_after_a_disconnect_the_bot_resumes(scene: Scene, bot: DemoBot) -> None:
    await scene.standin.disconnect_gateway()

    interaction = await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "demo echo", {"text": "still here"}
    )
    await interaction.wait_response()

    assert (scene.standin.gateway.identify_count, scene.standin.gateway.resume_count) == (1, 1)


async def test_after_an_invalid_session_the_bot_identifies_again(
    scene: Scene, bot: DemoBot
) -> None:
    await scene.standin.disconnect_gateway(resumable=False)
    await scene.standin.wait_ready()

    interaction = await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "demo echo", {"text": "back"}
    )
    await interaction.wait_response()

    assert (scene.standin.gateway.identify_count, scene.standin.gateway.resume_count) == (2, 0)


async def test_autocomplete_choices_come_back(scene: Scene, bot: DemoBot) -> None:
    interaction = await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "demo fruit", {"name": "ap"}, focused="name"
    )

    response = await interaction.wait_response()

    assert response.type == 8
    assert interaction.autocomplete_choices == [
        {"name": "apple", "value": "apple"}, {"name": "apricot", "value": "apricot"}
    ]


async def test_more_than_25_autocomplete_choices_are_refused(scene: Scene, bot: DemoBot) -> None:
    await scene.standin.invoke(
        scene.guild, scene.channel, scene.alice, "demo fruit", {"name": "many"}, focused="name"
    )

    refusal = await scene.standin.wait_refusal(50035)

    assert "25 or fewer" in refusal.reason


async def test_clicking_a_button_reaches_the_view(scene: Scene, bot: DemoBot) -> None:
    shown = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "demo buttons")
    message = await shown.wait_original()

    click = await scene.standin.click(message, "demo:ok", scene.bob)
    await click.wait_response()
    chosen = await scene.standin.select(message, "demo:size", ["b"], scene.bob)

    assert (await chosen.wait_response()).content == "size b"
    assert message.content == "clicked by bob" and message.edited
    assert [b.get("url") for b in message.buttons] == [None, "https://example.com/docs"]
    with pytest.raises(StandinError, match="link buttons"):
        await scene.standin.click(message, "https://example.com/docs", scene.bob)


async def test_a_submitted_modal_reaches_on_submit(scene: Scene, bot: DemoBot) -> None:
    opened = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "feedback")
    await opened.wait_response()

    submitted = await scene.standin.submit_modal(opened, {"feedback:text": "great"})
    answer = await submitted.wait_response()

    assert (answer.content, answer.ephemeral) == ("thanks: great", True)


async def test_the_original_response_can_be_read_edited_and_deleted(
    scene: Scene, bot: DemoBot
) -> None:
    interaction = await scene.standin.invoke(scene.guild, scene.channel, scene.alice, "ping")
    await interaction.wait_followup()
    seen: discord.Interaction = await bot.outcomes.get("ping")

    fetched = await seen.original_response()
    await seen.edit_original_response(content="pong, edited")
    await seen.delete_original_response()

    assert interaction.original is not None and fetched.id == interaction.original.id
    assert interaction.original.content == "pong, edited" and interaction.original.deleted
    with pytest.raises(discord.NotFound):  # discord.py caches original_response(); edits ask
        await seen.edit_original_response(content="gone?")


async def test_channel_messages_can_be_fetched_edited_and_deleted(
    scene: Scene, bot: DemoBot
) -> None:
    channel = text_channel(bot, scene)
    sent = await channel.send("stems", file=discord.File(io.BytesIO(b"RIFF"), "vocals.wav"))

    fetched = await channel.fetch_message(sent.id)
    await fetched.edit(content="stems (edited)")
    history = [m.content async for m in channel.history(limit=5)]
    await fetched.delete()

    assert fetched.attachments[0].filename == "vocals.wav"
    assert scene.standin.messages[0].files == {"vocals.wav": b"RIFF"}
    assert history == ["stems (edited)"] and scene.standin.messages[0].deleted
    assert (await bot.fetch_channel(scene.channel.id)).id == scene.channel.id
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None and (await guild.fetch_member(scene.alice.id)).name == "alice"


async def test_a_globally_synced_command_works_in_dms(scene: Scene, bot: DemoBot) -> None:
    await bot.tree.sync()

    interaction = await scene.standin.invoke(
        None, scene.standin.dm_channel(scene.alice), scene.alice, "demo echo", {"text": "hi"}
    )
    response = await interaction.wait_response()

    assert response.content == f"{scene.alice.mention} said hi"
    assert scene.standin.sync_calls == {scene.guild.id: 1, None: 1}


async def test_unknown_routes_answer_404_and_are_recorded(scene: Scene, bot: DemoBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/stickers/{id}", id=1))

    assert "no route GET /stickers/1" in scene.standin.errors[0].reason
