"""The running bot as an operator sees it: health, metrics, and secrets kept out of everything."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from bot.config import Secret
from bot.sandbox import Fault
from tests._sandbox_fixtures import free_port
from tests.bot_world import bot_world, private_answer

API_KEY_SENTINEL = "SENTINEL-crun-key-7f3a9c1e5b"


async def test_the_bot_serves_health_and_metrics_when_http_port_is_set(tmp_path: Path) -> None:
    port = free_port()
    async with (
        bot_world(tmp_path, http_port=port, process_name="bot-1") as world,
        aiohttp.ClientSession() as http,
    ):
        asked = await world.separate(world.alice)
        await asked.wait_response()
        await world.result()
        await world.bot.engine.scheduler.run_once()

        async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
            health = (reply.status, await reply.json())
        async with http.get(f"http://127.0.0.1:{port}/metrics") as reply:
            metrics = await reply.text()

    assert health == (200, {"ok": True, "gateway": True, "database": True, "scheduler": True,
                            "process": "bot-1", "shards": [0], "leases": 0})
    assert 'stembot_ack_seconds_count{process="bot-1"} 1.0' in metrics
    assert 'stembot_jobs{process="bot-1",state="succeeded"} 1.0' in metrics
    assert 'stembot_delivery_delay_seconds_count{process="bot-1"} 1.0' in metrics


async def test_secrets_appear_in_no_log_message_database_row_or_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with bot_world(tmp_path, crun_api_key=Secret(API_KEY_SENTINEL)) as world:
        token = world.standin.token
        happy = await world.separate(world.alice)
        await happy.wait_response()
        await world.result()
        wrong = await world.separate(world.bob, task="no-such-task")
        await wrong.wait_response()
        world.sandbox.inject("CreateTask", Fault("code", code=401, message="bad key given"))
        refused = await world.separate(world.bob, song="demo-song-2")
        await private_answer(refused)
        replies = [r.data for i in (happy, wrong, refused) for r in i.responses]
        messages = [m.text for m in world.standin.messages]
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        rows = "\n".join(db.iterdump())
    logs = "\n".join([caplog.text, *(str(r.exc_info) for r in caplog.records if r.exc_info)])

    shown = "\n".join(messages + [str(r) for r in replies])
    assert "stem service key is missing or invalid" in shown
    for secret in (token, API_KEY_SENTINEL):
        assert secret not in logs
        assert all(secret not in text for text in messages)
        assert all(secret not in str(reply) for reply in replies)
        assert secret not in rows
