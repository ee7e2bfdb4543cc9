"""Campaign 5: access and isolation across servers, members, admins, callbacks and allowed roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.jobs import Delivery, JobState, Mode
from tests._sandbox_fixtures import free_port
from tests.bot_world import SLOW_S, World, bot_world, button_id
from tests.standin import Channel, Guild, Message, User
from tests.standin.model import MANAGE_GUILD
from tests.survival._campaign import CampaignReport, report

pytestmark = pytest.mark.campaign

NOT_FOUND = "No job `#{}` of yours was found in this server."


@dataclass
class Elsewhere:
    """A second server sharing the bot: a member and an admin who must see nothing of the first."""

    guild: Guild
    channel: Channel
    carol: User
    dave: User


def other_server(world: World) -> Elsewhere:
    guild = world.standin.add_guild("Other Place")
    channel = world.standin.add_channel(guild, "general")
    carol = world.standin.add_member(guild, "carol")
    dave = world.standin.add_member(guild, "dave", admin=True)
    return Elsewhere(guild, channel, carol, dave)


async def ask(world: World, where: Elsewhere, user: User, name: str, options: dict[str, object],
              focused: str | None = None) -> str:
    asked = await world.standin.invoke(where.guild, where.channel, user, name, options,
                                       focused=focused)
    if focused:
        await asked.wait_response()
        return repr(asked.autocomplete_choices)
    answer = await asked.wait_response()
    assert answer.ephemeral, (name, answer)
    data = answer.data or {}
    return str(data.get("content", "")) + repr(data.get("embeds", []))


def forged(world: World, like: Message, channel: Channel) -> Message:
    """A bot message carrying `like`'s buttons in `channel`: a custom_id used out of its place."""
    message = Message(world.standin.ids.next(), channel.id, channel.guild_id,
                      world.standin.bot_user_id, world.standin.clock(), content="copy",
                      components=like.components)
    world.standin.messages.append(message)
    return message


def api_calls(world: World) -> int:
    return sum(world.sandbox.calls.values())


async def test_another_servers_members_and_admins_cannot_see_cancel_list_or_refresh_a_job(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        where = other_server(world)
        await world.bot.tree.sync()  # global commands too, as in production: usable there
        await world.set_rules(cooldown_s=0)
        done = await world.separate(world.alice, song="demo-song-1")
        await done.wait_reply(lambda m: bool(m.embeds))
        world.sandbox.finish(await world.remote_id(1))
        result = await world.result()
        running = await world.separate(world.alice, song="demo-song-2")
        await running.wait_reply(lambda m: bool(m.embeds))
        calls = api_calls(world)
        attempts = 0

        for user in (where.carol, where.dave):
            for job_id in (1, 2):
                for name in ("stems status", "stems cancel"):
                    said = await ask(world, where, user, name, {"job": job_id})
                    assert NOT_FOUND.format(job_id) in said, said
                    attempts += 1
                for name in ("stems status", "stems cancel"):
                    said = await ask(world, where, user, name, {"job": 1}, focused="job")
                    assert said == "[]", said
                    attempts += 1
        said = await ask(world, where, where.dave, "stems list", {"scope": "server"})
        assert "No jobs yet." in said and "Midnight" not in said
        copy = forged(world, result, where.channel)
        pressed = await world.standin.click(copy, button_id(result, "Refresh links"), where.carol)
        refused = await pressed.wait_original(lambda m: not m.loading)
        attempts += 2

        assert refused.ephemeral and "Job `#1` was not found here." in refused.content
        assert (await world.job(2)).state == JobState.RUNNING  # not cancelled
        assert api_calls(world) == calls  # nothing reached the API on their behalf
        assert world.standin.errors == []
        report(CampaignReport("5 access: other server", attempts, attempts, 0, 0, 0))


async def test_a_dm_result_can_be_refreshed_only_by_someone_who_asked_for_it(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        world.standin.set_bot_permissions(world.channel, send=False)
        world.sandbox.finish(await world.remote_id(1))
        dm = await world.dm(world.alice)
        await world.settle()
        calls = api_calls(world)

        copy = forged(world, dm, world.standin.dm_channel(world.bob))
        pressed = await world.standin.click(copy, button_id(dm, "Refresh links"), world.bob)
        refused = await pressed.wait_original(lambda m: not m.loading)

        assert refused.ephemeral and "Job `#1` was not found here." in refused.content
        assert api_calls(world) == calls
        assert [e.code for e in world.standin.errors] == [50013]


async def test_mine_means_mine_for_status_cancel_and_list(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        asked = await world.separate(world.bob)
        await asked.wait_reply(lambda m: bool(m.embeds))

        status = await (await world.command("stems status", {"job": 1})).wait_response()
        cancel = await (await world.command("stems cancel", {"job": 1})).wait_response()
        listed = await (await world.command("stems list", {"scope": "mine"})).wait_response()
        server = await (await world.command("stems list", {"scope": "server"})).wait_response()

        assert NOT_FOUND.format(1) in (status.data or {})["content"]
        assert NOT_FOUND.format(1) in (cancel.data or {})["content"]
        assert "No jobs yet." in repr((listed.data or {})["embeds"])
        assert "Manage Server" in (server.data or {})["content"]
        assert (await world.job(1)).state == JobState.RUNNING
        assert world.standin.errors == []


async def test_members_without_manage_server_can_neither_read_nor_change_config_or_credits(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        mods = world.standin.add_role(world.guild, "mods", permissions=1 << 13)  # manage msgs
        mod = world.standin.add_member(world.guild, "mod", roles=[mods])
        admins = [r for r in world.guild.roles.values() if r.permissions & MANAGE_GUILD]
        before = await world.bot.guild_store.rules(world.guild.id)
        changes: list[dict[str, object]] = [
            {}, {"daily_limit": 0}, {"everyone": False}, {"budget": 0.0},
            {"allow_role": mods}, {"dm_fallback": False}, {"max_open_jobs": 50},
            {"results_channel": world.channel}, {"modes": "vocal"}, {"cooldown_s": 0},
        ]

        for user in (world.alice, mod):
            for options in changes:
                answer = await (await world.command("stems config", options, user=user)
                                ).wait_response()
                assert answer.ephemeral and answer.data is not None
                assert answer.data.get("content") == (
                    "You need the **Manage Server** permission for this."
                ), answer.data
                assert not answer.data.get("embeds")  # not even the current settings
            credits = await (await world.command("stems credits", user=user)).wait_response()
            assert credits.ephemeral and "Manage Server" in (credits.data or {})["content"]

        assert await world.bot.guild_store.rules(world.guild.id) == before
        assert api_calls(world) == 0
        assert admins and world.standin.errors == []
        report(CampaignReport("5 access: non-admin config", 2 * (len(changes) + 1),
                              2 * (len(changes) + 1), 0, 0, 0))


async def test_a_member_without_the_allowed_role_is_refused_before_any_api_call(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        role = world.standin.add_role(world.guild, "stem makers")
        await world.set_rules(allowed_role_ids=(role.id,), confirm_full_split=True)
        attempts = [
            {"task": "demo-music-task", "song": "demo-song-1"},
            {"task": "demo-music-task", "song": "demo-song-2", "mode": Mode.INSTRUMENTAL},
            {"task": "no-such-task", "song": "demo-song-1"},
            {"task": "demo-music-task", "song": "https://suno.com/song/demo-song-1"},
        ]

        for attempt in attempts:
            asked = await world.separate(world.alice, **attempt)  # type: ignore[arg-type]
            answer = await asked.wait_response()
            assert answer.type == 4 and answer.ephemeral, answer
            assert "Only members with one of these roles" in (answer.data or {})["content"]

        assert api_calls(world) == 0  # not even the free TaskInfo lookup
        assert world.posted() == [] and world.standin.errors == []


async def test_a_callback_with_a_wrong_token_changes_nothing(tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with bot_world(tmp_path, duration_s=SLOW_S, http_port=port, public_url=public) as world:
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        token = (await world.job(1)).callback_token
        assert token
        wrong = [
            token[:-1] + ("A" if token[-1] != "A" else "B"), token.upper(), token + "x",
            token[:8], f"{token}/extra", "1", "%00", "' OR 1=1 --", "x" * 4096,
        ]
        forged_body = {"status": "success", "result": {"vocals": "https://evil.example/x"}}

        async with aiohttp.ClientSession() as http:
            for bad in wrong:
                async with http.post(f"{public}/callbacks/{bad}", json=forged_body) as reply:
                    assert reply.status in (404, 414), (bad, reply.status)
            await world.settle()
            assert (await world.job(1)).state == JobState.RUNNING
            async with http.post(f"{public}/callbacks/{token}", json=forged_body) as reply:
                assert reply.status == 200  # right token: a poll, whose answer alone counts
            await world.settle()
            assert (await world.job(1)).state == JobState.RUNNING
            assert world.posted() == []
            world.sandbox.finish(await world.remote_id(1))
            async with http.post(f"{public}/callbacks/{token}", json={}) as reply:
                assert reply.status == 200
        result = await world.result()
        await world.settle()

        assert "stems are ready" in result.content
        assert "evil.example" not in repr(result.buttons) + result.text
        [sub] = await world.subscriptions(1)
        assert (sub.delivery, sub.message_id) == (Delivery.CHANNEL, result.id)
        assert world.standin.errors == []
        report(CampaignReport("5 access: forged callbacks", len(wrong) + 1, len(wrong) + 1,
                              0, 0, world.creates() - 1))


async def test_song_autocomplete_makes_no_api_call_for_a_member_without_the_allowed_role(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        role = world.standin.add_role(world.guild, "stem makers")
        await world.set_rules(allowed_role_ids=(role.id,))

        for task in ("demo-music-task", "task-a", "task-b"):  # each a fresh, uncached lookup
            asked = await world.command(
                "stems separate", {"task_id": task, "suno_id": ""}, focused="suno_id"
            )
            await asked.wait_response()
            assert asked.autocomplete_choices == [], asked.autocomplete_choices

        assert api_calls(world) == 0


# --- issue 9, finding 6: visibility follows the subscription --------------------------------


async def join_from(world: World, where: Elsewhere, user: User) -> None:
    asked = await world.standin.invoke(where.guild, where.channel, user, "stems separate",
                                       {"task_id": "demo-music-task", "suno_id": "demo-song-1"})
    status = await asked.wait_reply(lambda m: "pinged too" in m.text)
    assert "pinged too" in status.text, status.text


async def shared_with_another_server(world: World) -> Elsewhere:
    """Alice's job in her server, joined by Carol from another server."""
    where = other_server(world)
    await world.bot.tree.sync()
    asked = await world.separate(world.alice)
    await asked.wait_reply(lambda m: bool(m.embeds))
    await join_from(world, where, where.carol)
    return where


async def test_a_member_who_joined_another_servers_job_can_see_it_and_refresh_it(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        where = await shared_with_another_server(world)

        status = await ask(world, where, where.carol, "stems status", {"job": 1})
        world.sandbox.finish(await world.remote_id(1))
        theirs = await world.standin.wait_message(
            lambda m: m.channel_id == where.channel.id and m.interaction_id is None
            and m.author_id == world.standin.bot_user_id
        )
        pressed = await world.standin.click(theirs, button_id(theirs, "Refresh links"),
                                            where.carol)
        fresh = await pressed.wait_original(lambda m: not m.loading)

        assert NOT_FOUND.format(1) not in status and "`#1`" in status
        assert fresh.ephemeral and "Fresh links" in fresh.text
        assert world.creates() == 1
        assert world.standin.errors == []


async def test_cancelling_a_job_shared_across_servers_stops_only_your_own_servers_pings(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        where = await shared_with_another_server(world)

        by_member = await ask(world, where, where.carol, "stems cancel", {"job": 1})
        by_admin = await ask(world, where, where.dave, "stems cancel", {"job": 1})

        assert "You won't be pinged for job `#1`" in by_member
        assert "Nobody in this server will be pinged for job `#1`" in by_admin
        assert "goes on for the others" in by_admin and "Cancelled job" not in by_admin
        assert (await world.job(1)).state == JobState.RUNNING
        subs = {s.user_id: s.delivery for s in await world.subscriptions(1)}
        assert subs == {world.alice.id: Delivery.WAITING, where.carol.id: Delivery.CANCELLED}
        assert world.standin.errors == []


async def test_refresh_by_a_member_who_did_not_ask_says_who_may(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        result = await world.result()
        calls = api_calls(world)

        pressed = await world.standin.click(result, button_id(result, "Refresh links"), world.bob)
        refused = await pressed.wait_original(lambda m: not m.loading)
        pressed = await world.standin.click(result, button_id(result, "Refresh links"),
                                            world.admin)
        by_admin = await pressed.wait_original(lambda m: not m.loading)

        assert refused.ephemeral and "Only the members who asked for job `#1`" in refused.text
        assert by_admin.ephemeral and "Fresh links" in by_admin.text
        assert api_calls(world) == calls + 1  # the admin's re-read only
        assert world.standin.errors == []
