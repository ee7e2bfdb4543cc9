"""Per-server data in SQLite (rules, usage, listings, meta), the health ping, and a rules cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs import Job
from bot.rules import GuildRules, Usage, day_start, period_start
from bot.store.db import Database
from bot.store.rows import job_from_row
from bot.store.shared import Figures
from bot.store.turns import for_a_member

if TYPE_CHECKING:
    from bot.store.protocol import Store


class Guilds(Figures):
    """The per-server half of the SQLite store (mixed into JobStore), and the counts it serves."""

    _db: Database

    def _reads(self) -> Database:
        return self._db

    async def guild_rules(self, guild_id: int) -> GuildRules | None:
        raw = await self._db.scalar(
            "SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if raw is None else GuildRules.from_json(raw)

    async def save_guild_rules(self, guild_id: int, rules: GuildRules) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, data) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET data = excluded.data",
                (guild_id, rules.to_json()),
            )

    async def usage(self, guild_id: int, user_id: int, rules: GuildRules, now: float) -> Usage:
        """One statement (it runs before the first reply, and again inside the paying
        transaction): paid today, running, spent this period, last request."""
        [row] = await self._db.rows(
            "SELECT"
            " (SELECT COUNT(*) FROM ledger WHERE guild_id = ? AND user_id = ? AND at >= ?),"
            " (SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND requester_id = ?"
            "  AND state IN ('submitting', 'running')),"
            " (SELECT COALESCE(SUM(credits), 0) FROM ledger WHERE guild_id = ? AND at >= ?),"
            " (SELECT MAX(created_at) FROM subscriptions WHERE user_id = ? AND guild_id = ?)",
            (guild_id, user_id, day_start(now), guild_id, user_id,
             guild_id, period_start(rules.budget_period, now), user_id, guild_id),
        )
        return Usage(
            user_jobs_today=int(row[0]),
            user_open_jobs=int(row[1]),
            guild_spent=float(row[2]),
            last_request_at=None if row[3] is None else float(row[3]),
        )

    async def spent(self, guild_id: int, since: float) -> float:
        total = await self._db.scalar(
            "SELECT COALESCE(SUM(credits), 0) FROM ledger WHERE guild_id = ? AND at >= ?",
            (guild_id, since),
        )
        return float(total)

    async def jobs_page(
        self, guild_id: int, user_id: int | None, *, offset: int, limit: int
    ) -> tuple[list[Job], int]:
        """Newest first: the jobs a user asked for (or all of the server's when user_id is None)."""
        where = "s.guild_id = ?" + ("" if user_id is None else " AND s.user_id = ?")
        params: tuple[int, ...] = (guild_id,) if user_id is None else (guild_id, user_id)
        total = await self._db.scalar(
            f"SELECT COUNT(DISTINCT s.job_id) FROM subscriptions s WHERE {where}", params
        )
        rows = await self._db.rows(
            f"SELECT j.* FROM jobs j WHERE j.id IN (SELECT s.job_id FROM subscriptions s"
            f" WHERE {where}) ORDER BY j.id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [job_from_row(r) for r in rows], int(total)

    async def recent_music_tasks(self, guild_id: int, *, limit: int = 25) -> list[tuple[str, str]]:
        """(music task id, a song title from it) most recently used in this server."""
        rows = await self._db.rows(
            "SELECT music_task_id, MAX(song_title), MAX(id) AS newest FROM jobs"
            " WHERE guild_id = ? GROUP BY music_task_id ORDER BY newest DESC LIMIT ?",
            (guild_id, limit),
        )
        return [(r[0], r[1] or "") for r in rows]

    async def meta(self, key: str) -> str | None:
        value = await self._db.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


class GuildStore:
    """What one server sees, over the store; each server's rules are kept in memory."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # Rules are read on every command and written only through save_rules, by this
        # process: keeping them in memory saves a database round trip before the first reply.
        self._rules: dict[int, GuildRules] = {}

    @for_a_member
    async def rules(self, guild_id: int) -> GuildRules:
        cached = self._rules.get(guild_id)
        if cached is not None:
            return cached
        rules = await self._store.guild_rules(guild_id) or GuildRules()
        self._rules[guild_id] = rules
        return rules

    @for_a_member
    async def save_rules(self, guild_id: int, rules: GuildRules) -> None:
        await self._store.save_guild_rules(guild_id, rules)
        self._rules[guild_id] = rules

    @for_a_member
    async def usage(self, guild_id: int, user_id: int, rules: GuildRules, now: float) -> Usage:
        return await self._store.usage(guild_id, user_id, rules, now)

    @for_a_member
    async def spent(self, guild_id: int, since: float) -> float:
        return await self._store.spent(guild_id, since)

    @for_a_member
    async def jobs_page(
        self, guild_id: int, user_id: int | None, *, offset: int, limit: int
    ) -> tuple[list[Job], int]:
        return await self._store.jobs_page(guild_id, user_id, offset=offset, limit=limit)

    @for_a_member
    async def recent_music_tasks(self, guild_id: int, *, limit: int = 25) -> list[tuple[str, str]]:
        return await self._store.recent_music_tasks(guild_id, limit=limit)

    async def meta(self, key: str) -> str | None:
        return await self._store.meta(key)

    async def set_meta(self, key: str, value: str) -> None:
        await self._store.set_meta(key, value)
