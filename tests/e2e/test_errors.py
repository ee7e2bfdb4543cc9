"""The command tree's one error table: private replies, tracebacks logged, public defers undone."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Fault
from bot.tree import GENERIC_ERROR
from tests.bot_world import bot_world
from tests.standin import Interaction


def on_fire(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the database is on fire")


async def removed(asked: Interaction) -> bool:
    """Waits until the public placeholder is gone (it is removed after the private answer)."""
    return (await asked.wait_original(lambda m: m.deleted)).deleted


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.tree" and r.levelno == logging.ERROR]


async def test_an_unexpected_error_gets_a_generic_private_reply_and_a_logged_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path) as world:
        monkeypatch.setattr(world.bot.engine.store, "get", on_fire)

        asked = await world.command("stems status", {"job": 1}, user=world.alice)
        answer = await asked.wait_response()

        assert answer.ephemeral and answer.content == GENERIC_ERROR
        assert "fire" not in answer.content
        (record,) = logged_errors(caplog)
        assert "/stems status" in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert world.standin.errors == []


async def test_a_public_defer_that_ends_in_a_user_error_is_replaced_by_a_private_reply(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, task="no-such-task")

        error = await asked.wait_followup()

        assert asked.responses[0].type == 5 and not asked.responses[0].ephemeral
        assert await removed(asked)
        assert error.ephemeral and "No music task `no-such-task`" in error.content
        assert world.standin.channel_messages(world.channel) == [error]  # only alice sees it
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_an_unexpected_error_after_a_public_defer_is_told_privately_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path) as world:
        monkeypatch.setattr(world.bot.engine.store, "find_open", on_fire)

        asked = await world.separate(world.alice)
        error = await asked.wait_followup()

        assert await removed(asked)
        assert error.ephemeral and error.content == GENERIC_ERROR
        (record,) = logged_errors(caplog)
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_an_api_error_is_explained_privately_in_the_users_words(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.inject("TaskInfo", Fault("code", code=401))

        asked = await world.separate(world.alice)
        error = await asked.wait_followup()

        assert error.ephemeral
        assert error.content.startswith("The bot's API key is missing or invalid.")
        assert await removed(asked)
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_a_placeholder_that_cannot_be_removed_never_hides_the_private_answer(
    tmp_path: Path,
) -> None:
    async with bot_world(tmp_path) as world:
        world.standin.refuse_next("DELETE /webhooks/", status=403, code=50013,
                                  message="Missing Permissions")
        asked = await world.separate(world.alice, task="no-such-task")

        error = await asked.wait_followup()
        await world.standin.wait_refusal(50013)  # the placeholder could not be removed

        assert error.ephemeral and "No music task `no-such-task`" in error.content
        assert asked.original is not None and not asked.original.loading
        assert "no-such-task" not in asked.original.content  # the public line says nothing
        assert [e.code for e in world.standin.errors] == [50013]
        assert world.creates() == 0


async def test_a_refusal_shows_the_apis_own_words_without_codes(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.inject(
            "CreateTask", Fault("code", code=422, message="suno_id not found in task")
        )

        asked = await world.separate(world.alice)
        error = await asked.wait_followup()

        assert error.ephemeral
        assert error.content == (
            'The separation service refused the request: "suno\\_id not found in task".'
        )
        assert "422" not in error.content
