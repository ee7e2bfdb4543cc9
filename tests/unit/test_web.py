"""Callbacks wake a poll (never trusted), /healthz says what is wrong, /metrics counts."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.delivery import Delivered
from bot.engine import Engine
from bot.jobs import Delivery, Job, JobState, Mode, Subscription
from bot.sandbox import Sandbox, serve
from bot.service import Request
from bot.web import WebServer
from tests._sandbox_fixtures import free_port
from tests._settings import make_settings


@dataclass
class Site:
    engine: Engine
    web: WebServer
    sandbox: Sandbox
    url: str
    delivered: asyncio.Queue[Job]
    gateway: list[bool]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    port = free_port()
    sandbox = Sandbox(duration_s=lambda mode: 0.3)
    delivered: asyncio.Queue[Job] = asyncio.Queue()

    async def deliver(job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        delivered.put_nowait(job)
        return {s.id: Delivered(Delivery.CHANNEL) for s in subs}

    api = await serve(sandbox)
    settings = make_settings(
        tmp_path / "web.sqlite3", api.base_url, public_url=f"http://127.0.0.1:{port}",
        http_port=port, poll_max_interval_s=60.0, poll_min_interval_s=30.0, process_name="web-1",
    )
    engine = await Engine.open(settings, deliver)
    gateway = [True]
    web = WebServer(engine, lambda: gateway[0])
    await web.start("127.0.0.1", port)
    await engine.start()
    try:
        yield Site(engine, web, sandbox, f"http://127.0.0.1:{port}", delivered, gateway)
    finally:
        await api.close()  # first: its callback client may hold a kept-alive connection to us
        await web.close()
        await engine.close()


async def test_a_callback_delivers_at_once_although_the_next_poll_is_far_off(site: Site) -> None:
    submission = await site.engine.service.submit(
        Request("demo-music-task", "demo-song-1", Mode.VOCAL, 1, 2, 3)
    )
    checks_before = site.sandbox.calls["TaskInfo"]

    job = await asyncio.wait_for(site.delivered.get(), timeout=10)

    assert job.id == submission.job.id and job.state == JobState.SUCCEEDED
    assert site.sandbox.separations[job.remote_id or ""].callback_url == (
        f"{site.url}/callbacks/{submission.job.callback_token}"
    )
    assert site.sandbox.calls["TaskInfo"] - checks_before == 1  # the woken poll, nothing else
    assert job.duration_s is not None and job.duration_s < 30  # well before the first poll


async def test_unknown_tokens_get_404_and_wake_nothing(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        for token in ("nope", "x" * 40, "../../etc/passwd"):
            async with http.post(f"{site.url}/callbacks/{token}", json={}) as reply:
                assert reply.status == 404
    assert site.sandbox.calls["TaskInfo"] == 0


async def test_callback_bodies_are_bounded_and_repeats_are_harmless(site: Site) -> None:
    submission = await site.engine.service.submit(
        Request("demo-music-task", "demo-song-2", Mode.VOCAL, 1, 2, 3)
    )
    url = f"{site.url}/callbacks/{submission.job.callback_token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"x" * (64 * 1024)) as reply:
            assert reply.status == 413
        for _ in range(3):
            async with http.post(url, json={"status": "success", "result": "forged"}) as reply:
                assert reply.status == 200
    job = await asyncio.wait_for(site.delivered.get(), timeout=10)
    await site.engine.scheduler.drain()
    assert job.stems and all("forged" not in s.url for s in job.stems)
    [sub] = await site.engine.store.subscriptions(job.id)
    assert (sub.delivery, sub.attempts) == (Delivery.CHANNEL, 1)


async def test_health_is_200_when_all_is_well_and_503_otherwise(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        await site.engine.scheduler.run_once()
        async with http.get(f"{site.url}/healthz") as reply:
            assert reply.status == 200
            assert await reply.json() == {"ok": True, "gateway": True, "database": True,
                                          "scheduler": True, "process": "web-1", "shards": [],
                                          "leases": 0}
        site.gateway[0] = False
        async with http.get(f"{site.url}/healthz") as reply:
            assert reply.status == 503
            assert (await reply.json())["gateway"] is False
        site.gateway[0] = True
        await site.engine.scheduler.stop()
        async with http.get(f"{site.url}/healthz") as reply:
            assert reply.status == 503
            assert (await reply.json())["scheduler"] is False


async def test_metrics_count_jobs_calls_and_credits(site: Site) -> None:
    await site.engine.service.submit(Request("demo-music-task", "demo-song-1", Mode.VOCAL))
    await asyncio.wait_for(site.delivered.get(), timeout=10)
    await site.engine.scheduler.drain()  # the delay is observed once the delivery is recorded

    async with aiohttp.ClientSession() as http, http.get(f"{site.url}/metrics") as reply:
        text = await reply.text()

    assert reply.status == 200 and reply.content_type == "text/plain"
    assert 'stembot_api_calls_total{code="200",endpoint="CreateTask",process="web-1"} 1.0' in text
    assert 'stembot_jobs{process="web-1",state="succeeded"} 1.0' in text
    assert 'stembot_credits_spent{process="web-1"} 1.0' in text
    assert 'stembot_delivery_delay_seconds_count{process="web-1"} 1.0' in text
    assert 'stembot_scheduler_queue{process="web-1"} 0.0' in text


async def test_health_is_503_and_says_why_while_polling_is_paused(site: Site) -> None:
    await site.engine.scheduler.run_once()
    site.engine.scheduler.pause.start(1e9, "the API asked us to slow down (code 429)")

    async with aiohttp.ClientSession() as http, http.get(f"{site.url}/healthz") as reply:
        body = await reply.json()

    assert reply.status == 503 and body["ok"] is False
    assert body["polling"].startswith("polling paused until ")
    assert body["polling"].endswith(" because the API asked us to slow down (code 429)")
    assert site.engine.scheduler.pause.until - site.engine.clock() <= 600  # capped
    assert body["scheduler"] is True and body["gateway"] is True


async def test_every_series_names_its_process_and_each_server_has_its_credits(
    site: Site,
) -> None:
    await site.engine.service.submit(
        Request("demo-music-task", "demo-song-1", Mode.VOCAL, 111, 2, 3)
    )
    await asyncio.wait_for(site.delivered.get(), timeout=10)
    await site.engine.scheduler.drain()

    async with aiohttp.ClientSession() as http, http.get(f"{site.url}/metrics") as reply:
        families = list(text_string_to_metric_families(await reply.text()))

    samples = [s for family in families for s in family.samples]
    assert samples and all(s.labels.get("process") == "web-1" for s in samples)
    by_name = {s.name: s for s in samples if not s.labels.keys() - {"process", "guild"}}
    assert by_name["stembot_guild_credits_spent"].labels["guild"] == "111"
    assert by_name["stembot_guild_credits_spent"].value == 1.0
    assert by_name["stembot_request_budget_share"].value == 1.0
    assert by_name["stembot_leases_held"].value == 0.0  # the job ended: nothing to poll


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "stembot.json"
METRIC_NAME = re.compile(r"\bstembot_[a-z0-9_]+")


async def test_every_dashboard_panel_queries_a_metric_the_bot_exports(site: Site) -> None:
    await site.engine.service.submit(Request("demo-music-task", "demo-song-1", Mode.VOCAL, 7))
    await asyncio.wait_for(site.delivered.get(), timeout=10)
    async with aiohttp.ClientSession() as http, http.get(f"{site.url}/metrics") as reply:
        exported = {s.name for f in text_string_to_metric_families(await reply.text())
                    for s in f.samples}

    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert [p["title"] for p in panels] == [
        "Jobs by state", "API calls by code", "Delivery delay", "Credits per server",
        "Leases and request budget per process",
    ]
    for panel in panels:
        named = {n for t in panel["targets"] for n in METRIC_NAME.findall(t["expr"])}
        assert named, f"panel {panel['title']!r} queries no stembot metric"
        assert named <= exported, f"panel {panel['title']!r}: {named - exported} not exported"
