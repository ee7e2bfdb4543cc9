"""issue 12: a public status message stays true across a restart (it is remembered, not only
watched in memory): a job that ends later, or ended while nobody watched, is shown ended."""

from __future__ import annotations

from pathlib import Path

from bot import endings
from bot.jobs import JobState
from bot.store import JobStore
from tests.bot_world import SLOW_S, SONG, World, bot_world
from tests.standin import Message, User


async def restored(world: World) -> None:
    """Wait until the (re)started bot watches the remembered status messages again and has
    corrected those of jobs that ended meanwhile."""
    cog = world.bot.get_cog("Stems")
    assert cog is not None
    await cog.status_board.restored()  # type: ignore[attr-defined]


async def posted_status(world: World, user: User | None = None, song: str = SONG) -> Message:
    """A request's public status, once the command has finished (and remembered it)."""
    finished = world.bot.wait_for("app_command_completion", timeout=5)  # listening from now
    asked = await world.separate(user or world.alice, song=song)
    status = await asked.wait_reply(lambda m: bool(m.embeds))
    await finished
    return status


def edits_of(world: World, status: Message) -> list[str]:
    """Every edit the bot sent for the status message, by either route, refused ones too."""
    return [path for method, path in world.standin.requests
            if method == "PATCH" and path.endswith(f"/messages/{status.id}")]


async def test_a_job_that_ends_after_a_restart_gets_its_final_state_in_its_public_status(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        status = await posted_status(world)
        await world.restart_bot()
        await restored(world)

        world.sandbox.finish(await world.remote_id(1))
        await world.result()
        await world.standin.wait_message(lambda m: m is status and "Finished" in m.text)

        assert "will be posted in" not in status.text
        assert "the stems are posted in" in status.text
        # The new process has no interaction token: the edit went through the channel.
        assert edits_of(world, status) == [f"/channels/{world.channel.id}/messages/{status.id}"]
        assert world.standin.errors == []


async def test_a_refused_final_edit_is_made_at_the_next_start_and_only_once(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        status = await posted_status(world)
        world.standin.refuse_next(f"/messages/{status.id}")

        await world.command("stems cancel", {"job": 1}, user=world.alice)
        refused = await world.standin.wait_refusal(50035)
        assert str(status.id) in refused.path and "will be posted in" in status.text
        await world.restart_bot()
        await restored(world)

        assert f"Cancelled by <@{world.alice.id}>" in status.text
        assert "will be posted in" not in status.text
        assert len(edits_of(world, status)) == 2  # the refused one, then the correction
        await world.restart_bot()
        await restored(world)
        assert len(edits_of(world, status)) == 2  # shown final: not edited again


async def test_a_job_that_ended_while_the_bot_was_down_is_shown_ended_at_the_next_start(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        status = await posted_status(world)
        await world.stop_bot()
        store = await JobStore.open(world.settings.database_path)
        try:  # another process (or a crash after the commit, before the edit) ended it
            job = await store.get(1)
            assert job is not None
            await store.cancel(job, user_id=world.alice.id, error=endings.cancelled_by(
                world.alice.id))
            assert (await store.get(1)).state == JobState.CANCELLED  # type: ignore[union-attr]
        finally:
            await store.close()

        await world.start_bot()
        await restored(world)

        assert f"Cancelled by <@{world.alice.id}>" in status.text
        assert len(edits_of(world, status)) == 1


async def test_a_status_shown_final_is_not_edited_again_at_the_next_start(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        first = await posted_status(world)
        second = await posted_status(world, world.bob, "demo-song-2")  # open: watched again
        await world.command("stems cancel", {"job": 1}, user=world.alice)
        await world.standin.wait_message(lambda m: m is first and "Cancelled" in m.text)

        await world.restart_bot()
        await restored(world)

        assert len(edits_of(world, first)) == 1 and edits_of(world, second) == []
        world.sandbox.finish(await world.remote_id(2))
        await world.result()
        await world.standin.wait_message(lambda m: m is second and "Finished" in m.text)
        assert len(edits_of(world, first)) == 1


async def test_a_status_watched_again_after_a_restart_speaks_the_server_s_language(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        world.guild.locale = "de"  # the server's own language, known from GUILD_CREATE
        await world.restart_bot()
        status = await posted_status(world)
        await world.restart_bot()
        await restored(world)

        world.sandbox.finish(await world.remote_id(1))
        await world.result()
        await world.standin.wait_message(lambda m: m is status and "Fertig" in m.text)

        assert f"Fertig: Die Stems sind in <#{world.channel.id}> gepostet." in status.text


async def test_a_job_re_checked_into_a_success_has_its_public_status_say_so(
    tmp_path: Path,
) -> None:
    """The public status said "took too long"; the member's /stems status finds the result
    after all: the same public message now says finished (not only the private answer)."""
    async with bot_world(tmp_path, duration_s=SLOW_S) as world:
        await restored(world)  # the start's restore is done: only this process's moves edit
        status = await posted_status(world)
        job = await world.job(1)
        await world.bot.engine.store.move(job, JobState.TIMED_OUT, error=endings.TIMED_OUT)
        await world.standin.wait_message(lambda m: m is status and "Took too long" in m.text)
        world.sandbox.finish(await world.remote_id(1))

        asked = await world.command("stems status", {"job": 1})
        await asked.wait_reply(lambda m: bool(m.embeds))
        await world.standin.wait_message(
            lambda m: m is status and "the stems are posted in" in m.text)

        assert "Took too long" not in status.text
        assert world.standin.errors == []
