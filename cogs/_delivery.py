"""Delivery: the channel first, then a DM, else undeliverable; each outcome recorded once."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import discord

from bot.delivery import Delivered
from bot.jobs import Delivery, Job, JobState, Subscription
from cogs._ui import allowed, failure_text, mentions, result_embed
from cogs._views import links_view

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

# Mentions cost ~22 characters each in the 2,000 of a message's content, and Discord pings at
# most 100 users per message: a crowd that joined one job is told in batches.
MENTIONS_PER_MESSAGE = 40


def nonce(job_id: int, target: int | str) -> str:
    """The same per job and destination, so Discord drops a resend after a crash (≤ 25 chars)."""
    return hashlib.sha256(f"{job_id}:{target}".encode()).hexdigest()[:25]


class Deliverer:
    """Posts a finished job's result to each waiting requester, grouped by channel."""

    def __init__(self, bot: StemBot) -> None:
        self.bot = bot

    async def __call__(self, job: Job, subs: Sequence[Subscription]) -> Mapping[int, Delivered]:
        by_channel: defaultdict[int | None, list[Subscription]] = defaultdict(list)
        for sub in subs:
            by_channel[sub.channel_id].append(sub)
        results: dict[int, Delivered] = {}
        for channel_id, group in by_channel.items():
            results.update(await self._to_channel(job, channel_id, group))
        return results

    def render(
        self, job: Job, user_ids: Sequence[int | None]
    ) -> tuple[str, discord.Embed | None, discord.ui.View | None]:
        who = mentions(user_ids)
        if job.state == JobState.SUCCEEDED:
            expires = (job.finished_at.timestamp() if job.finished_at else self.bot.clock()) + (
                self.bot.settings.result_ttl_s
            )
            embed = result_embed(job, expires)
            return f"{who} your stems are ready.", embed, links_view(job, refresh=True)
        return f"{who} {failure_text(job)}", None, None

    async def _to_channel(
        self, job: Job, channel_id: int | None, group: list[Subscription]
    ) -> dict[int, Delivered]:
        if channel_id is None:
            return {s.id: await self._to_dm(job, s, "no channel") for s in group}
        results: dict[int, Delivered] = {}
        for start in range(0, len(group), MENTIONS_PER_MESSAGE):
            batch = group[start : start + MENTIONS_PER_MESSAGE]
            target = f"{channel_id}:{start // MENTIONS_PER_MESSAGE}"
            results.update(await self._post(job, channel_id, batch, target))
        return results

    async def _post(
        self, job: Job, channel_id: int, batch: list[Subscription], target: str
    ) -> dict[int, Delivered]:
        content, embed, view = self.render(job, [s.user_id for s in batch])
        channel = self.bot.get_partial_messageable(channel_id, guild_id=job.guild_id)
        try:
            message = await channel.send(
                content, embed=embed or discord.utils.MISSING, view=view or discord.utils.MISSING,
                allowed_mentions=allowed(s.user_id for s in batch),
                nonce=nonce(job.id, f"{job.state.value}:{target}"),  # a re-checked job is new
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            reason = f"channel refused: {exc.status} {exc.code}"
            log.info("job %d: %s; trying DMs", job.id, reason)
            return {s.id: await self._to_dm(job, s, reason) for s in batch}
        except discord.HTTPException as exc:
            log.warning("job %d: channel post failed (%s); will retry", job.id, exc.status)
            return {s.id: Delivered(Delivery.PENDING, f"channel error {exc.status}") for s in batch}
        return {s.id: Delivered(Delivery.CHANNEL, message_id=message.id) for s in batch}

    async def _to_dm(self, job: Job, sub: Subscription, reason: str) -> Delivered:
        if sub.user_id is None:
            return Delivered(Delivery.UNDELIVERABLE, reason)
        if sub.guild_id is not None:
            rules = await self.bot.guild_store.rules(sub.guild_id)
            if not rules.dm_fallback:
                return Delivered(Delivery.UNDELIVERABLE, f"{reason}; DMs are off in this server")
        content, embed, view = self.render(job, [sub.user_id])
        try:
            user = await self.bot.fetch_user(sub.user_id)
            message = await user.send(
                content, embed=embed or discord.utils.MISSING, view=view or discord.utils.MISSING,
                allowed_mentions=allowed([sub.user_id]),
                nonce=nonce(job.id, f"{job.state.value}:dm{sub.user_id}"),
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            return Delivered(Delivery.UNDELIVERABLE, f"{reason}; DM refused: {exc.code}")
        except discord.HTTPException as exc:
            return Delivered(Delivery.PENDING, f"{reason}; DM error {exc.status}")
        return Delivered(Delivery.DM, reason, message_id=message.id)
