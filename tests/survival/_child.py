"""The crash campaign's child process: the engine, a stream of requests, and a loopback "Discord".

Run as `python -m tests.survival._child`; everything comes from the environment (the usual settings
plus SURVIVE_*). Deliveries are POSTed to the parent's recorder with the nonce the real poster
sends (cogs.stems._poster.nonce), so the parent sees resends and duplicates the way Discord would.
The parent kills this process with SIGKILL; with SURVIVE_SETTLE=1 it instead exits 0 once every
job has ended and every requester has been told.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bot.config import load_settings
from bot.engine import Engine
from bot.errors import ApiError, UserError
from bot.jobs import Delivery, Job, Mode, Subscription
from bot.scheduler import Delivered
from bot.service import Request
from cogs.stems._poster import nonce

GUILD_ID = 1
CHANNEL_ID = 77
SEND_JITTER_S = 0.1  # before a post, and between the post and the scheduler recording it


class Child:
    def __init__(self, http: aiohttp.ClientSession, recorder: str, rng: random.Random) -> None:
        self.http, self.recorder, self.rng = http, recorder, rng
        self.engine: Engine | None = None

    async def tell(self, path: str, body: dict[str, Any]) -> None:
        async with self.http.post(self.recorder + path, json=body) as resp:
            resp.raise_for_status()

    async def deliver(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        results: dict[int, Delivered] = {}
        for sub in subs:
            await asyncio.sleep(self.rng.uniform(0, SEND_JITTER_S))
            await self.tell("/deliver", {
                "job_id": job.id, "user_id": sub.user_id, "state": job.state.value,
                "nonce": nonce(job.id, f"{sub.channel_id}:0"),
            })
            await asyncio.sleep(self.rng.uniform(0, SEND_JITTER_S))
            results[sub.id] = Delivered(Delivery.CHANNEL, message_id=job.id)
        return results

    async def submit(self, music_task_id: str, song_id: str, user_id: int) -> None:
        assert self.engine is not None
        request = Request(music_task_id, song_id, Mode.VOCAL, guild_id=GUILD_ID,
                          channel_id=CHANNEL_ID, user_id=user_id)
        try:
            submission = await self.engine.service.submit(request)
        except (UserError, ApiError) as exc:
            await self.tell("/refused", {"user_id": user_id, "text": str(exc)})
            return
        await self.tell("/accepted", {"job_id": submission.job.id, "user_id": user_id})

    async def settled(self) -> bool:
        assert self.engine is not None
        store = self.engine.store
        return not await store.open_jobs() and await store.next_delivery_at() is None


async def main() -> int:
    settings = load_settings(os.environ)
    rng = random.Random(int(os.environ["SURVIVE_SEED"]))
    songs = [item.split(":") for item in os.environ.get("SURVIVE_SONGS", "").split(",") if item]
    async with aiohttp.ClientSession() as http:
        child = Child(http, os.environ["SURVIVE_RECORDER"], rng)
        child.engine = engine = await Engine.open(settings, child.deliver)
        await engine.start()
        await child.tell("/started", {"pid": os.getpid()})
        submits = []
        for music_task_id, song_id, user_id in songs:
            submits.append(asyncio.create_task(child.submit(music_task_id, song_id, int(user_id))))
            await asyncio.sleep(rng.uniform(0, 0.04))
        await asyncio.gather(*submits)
        if os.environ.get("SURVIVE_SETTLE") != "1":
            await asyncio.Event().wait()  # until SIGKILL
        while True:  # the scheduler has no "all quiet" event: look every 50 ms
            if await child.settled():
                break
            await asyncio.sleep(0.05)
        await engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
