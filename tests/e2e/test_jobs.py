"""/stems status and /stems list (paging, scope), through the real client."""

from __future__ import annotations

from pathlib import Path

from bot.jobs import Delivery, JobState
from tests._bot_helpers import ended_job, is_disabled
from tests.bot_world import SLOW_S, World, bot_world, button_id
from tests.standin import Message


def listed_ids(message: Message) -> list[int]:
    """Job numbers in the order a /stems list page shows them."""
    lines = message.embeds[0].get("description", "").splitlines()
    return [int(line.split("`#")[1].split("`")[0]) for line in lines if line.startswith("`#")]


async def twelve_jobs_of_alice(world: World) -> None:
    for n in range(12):
        await ended_job(world, world.alice, song=f"song-{n}", title=f"Take {n}")


# --- /stems list ---------------------------------------------------------------------------


async def test_list_shows_my_jobs_newest_first_privately_ten_per_page(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await twelve_jobs_of_alice(world)
        await ended_job(world, world.bob, song="bobs")

        asked = await world.command("stems list", user=world.alice)
        page = await asked.wait_original()

        assert page.ephemeral
        assert listed_ids(page) == list(range(12, 2, -1))
        assert "Page 1 of 2" in page.text and "12 jobs" in page.text
        assert is_disabled(page, "Previous") and not is_disabled(page, "Next")
        assert world.standin.errors == []


async def test_list_pages_forward_and_back_with_the_buttons(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await twelve_jobs_of_alice(world)
        asked = await world.command("stems list", user=world.alice)
        page = await asked.wait_original()

        forward = await world.standin.click(page, button_id(page, "Next"), world.alice)
        await forward.wait_response()
        second = listed_ids(page), page.text, is_disabled(page, "Next")
        back = await world.standin.click(page, button_id(page, "Previous"), world.alice)
        await back.wait_response()

        assert second[0] == [2, 1] and "Page 2 of 2" in second[1] and second[2]
        assert listed_ids(page) == list(range(12, 2, -1))
        assert is_disabled(page, "Previous")
        assert [r.type for r in forward.responses] == [7]  # the same message, edited
        assert world.standin.errors == []


async def test_a_short_list_has_no_next_page(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.command("stems list", user=world.alice)
        page = await asked.wait_original()

        assert "No jobs yet." in page.text
        assert is_disabled(page, "Previous") and is_disabled(page, "Next")


async def test_listing_the_whole_server_is_refused_to_members(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await ended_job(world, world.bob, song="bobs")

        asked = await world.command("stems list", {"scope": "server"}, user=world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral
        assert "Manage Server" in answer.content and answer.embeds == []
        assert world.standin.errors == []


async def test_an_admin_lists_every_members_jobs(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await ended_job(world, world.alice, song="a")
        await ended_job(world, world.bob, song="b")
        await ended_job(world, world.bob, song="c", guild_id=world.standin.add_guild().id)

        asked = await world.command("stems list", {"scope": "server"}, user=world.admin)
        page = await asked.wait_original()

        assert page.ephemeral
        assert listed_ids(page) == [2, 1]
        assert "This server's stem jobs" in page.text
        assert world.standin.errors == []


# --- /stems status ------------------------------------------------------------------------


async def test_status_shows_a_running_job_privately(tmp_path: Path) -> None:
    async with bot_world(tmp_path, duration_s=30) as world:
        submitted = await world.separate(world.alice)
        await submitted.wait_reply(lambda m: bool(m.embeds))

        asked = await world.command("stems status", {"job": 1}, user=world.alice)
        shown = await asked.wait_original()

        assert shown.ephemeral
        assert "Splitting" in shown.text and "#1" in shown.text
        assert world.standin.errors == []


async def test_status_shows_a_finished_jobs_result_privately(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        await world.separate(world.alice)
        await world.result()

        asked = await world.command("stems status", {"job": 1}, user=world.alice)
        shown = await asked.wait_original()

        assert shown.ephemeral
        assert "Midnight Addiction" in shown.text and "Vocals" in shown.text
        assert [b["label"] for b in shown.buttons if b.get("url")] == ["Vocals", "Instrumental"]
        assert button_id(shown, "Refresh links") == "stems:refresh:1"
        assert world.standin.errors == []


async def test_status_of_someone_elses_job_is_not_shown(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        job = await ended_job(world, world.alice, song="a", title="Alice's Secret")

        asked = await world.command("stems status", {"job": job.id}, user=world.bob)
        answer = await asked.wait_response()

        assert answer.ephemeral
        assert f"No job `#{job.id}` of yours" in answer.content
        assert "Alice's Secret" not in answer.content and answer.embeds == []
        assert world.standin.errors == []


async def test_status_of_another_servers_job_is_not_shown_even_to_an_admin(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        other = world.standin.add_guild("Elsewhere")
        carol = world.standin.add_member(other, "carol")
        job = await ended_job(world, carol, song="a", guild_id=other.id)

        asked = await world.command("stems status", {"job": job.id}, user=world.admin)
        answer = await asked.wait_response()

        assert answer.ephemeral and f"No job `#{job.id}`" in answer.content
        assert world.standin.errors == []


async def test_an_admin_can_see_a_members_job(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        job = await ended_job(world, world.alice, song="a", title="Alice's Song")

        asked = await world.command("stems status", {"job": job.id}, user=world.admin)
        shown = await asked.wait_original()

        assert shown.ephemeral and "Alice's Song" in shown.text
        assert world.standin.errors == []


async def test_status_of_a_timed_out_job_that_finished_after_all_delivers_it(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S, job_deadline_s=0.5) as world:
        asked = await world.separate(world.alice)
        await asked.wait_reply(lambda m: bool(m.embeds))
        joined = await world.separate(world.bob)
        await joined.wait_reply(lambda m: "pinged too" in m.text)
        timed_out = await world.result(lambda m: "#1" in m.text)
        await world.settle()
        assert (await world.job(1)).state == JobState.TIMED_OUT
        world.sandbox.finish(await world.remote_id(1))

        status = await world.command("stems status", {"job": 1}, user=world.alice)
        shown = await status.wait_original(lambda m: not m.loading)
        for_bob = await world.result(lambda m: m.id != timed_out.id)
        await world.settle()

        assert shown.ephemeral and [b["label"] for b in shown.buttons if b.get("url")] == [
            "Vocals", "Instrumental"]
        assert for_bob.pinged_user_ids == {world.bob.id} and for_bob.buttons
        subs = {s.user_id: s.delivery for s in await world.subscriptions(1)}
        assert subs == {world.alice.id: Delivery.SHOWN, world.bob.id: Delivery.CHANNEL}
        assert (await world.job(1)).state == JobState.SUCCEEDED
        assert world.creates() == 1
        assert world.standin.errors == []
