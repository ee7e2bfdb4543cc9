"""Posts results: the channel first, then a DM, else undeliverable; each outcome recorded once."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import discord

from bot.delivery import Delivered
from bot.i18n import _, catalog_for, speaking
from bot.jobs import Delivery, Job, JobState, Subscription
from cogs.stems._checks import server_language
from cogs.stems._ui import (
    allowed,
    links_expire_at,
    mentions,
    result_embed,
    result_text,
    status_embed,
)
from cogs.stems._views import links_view

if TYPE_CHECKING:
    from bot.bot import StemBot

log = logging.getLogger(__name__)

# Mentions cost ~22 characters each in the 2,000 of a message's content, and Discord pings at
# most 100 users per message: a crowd that joined one job is told in batches.
MENTIONS_PER_MESSAGE = 40


Rendered = tuple[str, discord.Embed | None, discord.ui.View | None]


def nonce(job_id: int, target: int | str) -> str:
    """The same per job and destination, so Discord drops a resend after a crash (≤ 25 chars)."""
    return hashlib.sha256(f"{job_id}:{target}".encode()).hexdigest()[:25]


def batch_target(channel_id: int, batch: Sequence[Subscription]) -> str:
    """Names the batch by who is in it, never by its position: a retried later batch must not
    reuse an earlier batch's nonce (Discord would hand back that message and drop this one)."""
    return f"{channel_id}:" + ",".join(str(s.id) for s in sorted(batch, key=lambda s: s.id))


class ResultPoster:
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

    def renderings(
        self, job: Job, user_ids: Sequence[int | None], server: str | None = None
    ) -> list[Rendered]:
        """The result post, then simpler ones to try when Discord refuses it (400): without
        components (links inline), then plain text. A DM (`server` named) pings nobody."""
        ended = job.state != JobState.SUCCEEDED
        if server is not None:
            head = (_("From **{server}**: your stems could not be made.", server=server) if ended
                    else _("From **{server}**: your stems are ready.", server=server))
        else:
            who = mentions(user_ids)
            head = (_("{members} your stems could not be made.", members=who) if ended
                    else _("{members} your stems are ready.", members=who))
        if ended:  # an embed like a result: what happened, the credits, the next step
            return [(head, status_embed(job), None)]
        expires = links_expire_at(job, self.bot)
        return [
            (head, result_embed(job, expires), links_view(job, refresh=True)),
            (head, result_embed(job, expires, buttons=False), None),
            (result_text(job, head, expires), None, None),
        ]

    async def _send(
        self, to: discord.abc.Messageable, job: Job, user_ids: list[int | None], target: str,
        *, dm: bool = False, locale: str | None = None,
    ) -> discord.Message:
        """Post the result; on a 400 post the next simpler rendering. Other errors propagate.
        A DM reads in its member's `locale` when known; a channel post in the server's."""
        language = catalog_for(locale) if locale else None
        with speaking(language or await server_language(self.bot, job.guild_id)):
            versions = self.renderings(job, user_ids, self._server_name(job) if dm else None)
        for number, (content, embed, view) in enumerate(versions, start=1):
            try:
                return await to.send(
                    content, embed=embed or discord.utils.MISSING,
                    view=view or discord.utils.MISSING, suppress_embeds=embed is None,
                    allowed_mentions=allowed([] if dm else user_ids),
                    # With the state: a re-checked job's result is not its failure notice.
                    nonce=nonce(job.id, f"{job.state.value}:{target}"),
                )
            except discord.HTTPException as exc:
                if exc.status != 400 or number == len(versions):
                    raise
                log.warning("job %d: Discord refused the result post (%s: %s); posting a "
                            "simpler one", job.id, exc.code, exc.text)
        raise AssertionError("unreachable: the last rendering re-raises")

    async def _to_channel(
        self, job: Job, channel_id: int | None, group: list[Subscription]
    ) -> dict[int, Delivered]:
        if channel_id is None:
            return {s.id: await self._to_dm(job, s, "no channel") for s in group}
        results: dict[int, Delivered] = {}
        for start in range(0, len(group), MENTIONS_PER_MESSAGE):
            batch = group[start : start + MENTIONS_PER_MESSAGE]
            results.update(await self._post(job, channel_id, batch))
        return results

    async def _post(
        self, job: Job, channel_id: int, batch: list[Subscription]
    ) -> dict[int, Delivered]:
        channel = self.bot.get_partial_messageable(channel_id, guild_id=job.guild_id)
        target = batch_target(channel_id, batch)
        try:
            message = await self._send(channel, job, [s.user_id for s in batch], target)
        except (discord.Forbidden, discord.NotFound) as exc:
            reason = f"channel refused: {exc.status} {exc.code}"
            log.info("job %d: %s; trying DMs", job.id, reason)
            return {s.id: await self._to_dm(job, s, reason) for s in batch}
        except discord.HTTPException as exc:
            log.warning("job %d: channel post failed (%s); will retry", job.id, exc.status)
            return {s.id: Delivered(Delivery.PENDING, f"channel error {exc.status}") for s in batch}
        return {s.id: Delivered(Delivery.CHANNEL, message_id=message.id) for s in batch}

    def _server_name(self, job: Job) -> str:
        guild = self.bot.get_guild(job.guild_id) if job.guild_id is not None else None
        return discord.utils.escape_markdown(guild.name) if guild is not None else _("a server")

    async def _to_dm(self, job: Job, sub: Subscription, reason: str) -> Delivered:
        if sub.user_id is None:
            return Delivered(Delivery.UNDELIVERABLE, reason)
        if sub.guild_id is not None:
            rules = await self.bot.guild_store.rules(sub.guild_id)
            if not rules.dm_fallback:
                return Delivered(Delivery.UNDELIVERABLE, f"{reason}; DMs are off in this server")
        try:
            user = await self.bot.fetch_user(sub.user_id)
            message = await self._send(user, job, [sub.user_id], f"dm{sub.id}", dm=True,
                                       locale=sub.locale)
        except (discord.Forbidden, discord.NotFound) as exc:
            return Delivered(Delivery.UNDELIVERABLE, f"{reason}; DM refused: {exc.code}")
        except discord.HTTPException as exc:
            return Delivered(Delivery.PENDING, f"{reason}; DM error {exc.status}")
        return Delivered(Delivery.DM, reason, message_id=message.id)
