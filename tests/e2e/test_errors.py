"""The command tree's one error table: private replies, tracebacks logged, no public flash."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Fault
from bot.tree import GENERIC_ERROR
from tests.bot_world import bot_world, private_answer


def on_fire(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the database is on fire")


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


async def test_a_refusal_after_the_first_response_is_private_from_the_start(
    tmp_path: Path,
) -> None:
    """issue 12: the pre-flight runs under a private "thinking…"; the channel sees nothing."""
    async with bot_world(tmp_path) as world:
        asked = await world.separate(world.alice, task="no-such-task")

        error = await private_answer(asked)

        assert "No music task `no-such-task`" in error.content
        assert world.standin.channel_messages(world.channel) == [error]  # only alice sees it
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_an_unexpected_error_after_a_private_defer_is_told_privately_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot_world(tmp_path) as world:
        monkeypatch.setattr(world.bot.engine.store, "find_open", on_fire)

        asked = await world.separate(world.alice)
        error = await private_answer(asked)

        assert error.content == GENERIC_ERROR
        (record,) = logged_errors(caplog)
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_an_api_error_is_explained_privately_in_the_users_words(tmp_path: Path) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.inject("TaskInfo", Fault("code", code=401))

        asked = await world.separate(world.alice)
        error = await private_answer(asked)

        assert error.content.startswith("The bot's stem service key is missing or invalid.")
        assert "401" not in error.content and "API" not in error.content
        assert world.creates() == 0
        assert world.standin.errors == []


async def test_a_refusal_is_told_in_our_words_and_the_apis_words_go_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with bot_world(tmp_path) as world:
        world.sandbox.inject(
            "CreateTask", Fault("code", code=422, message="suno_id not found in task")
        )

        asked = await world.separate(world.alice)
        error = await private_answer(asked)

        assert error.content == (
            "The stem service refused this request. Check the music task and the song, "
            "and try again."
        )
        assert "suno_id not found in task" in caplog.text
