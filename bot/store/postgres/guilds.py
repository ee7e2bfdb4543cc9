"""Per-server data in PostgreSQL (rules, usage, listings, meta), and the health figures."""

from __future__ import annotations

from bot.jobs import Job
from bot.rules import GuildRules, Usage, day_start, period_start
from bot.store.postgres.db import PgDatabase
from bot.store.rows import job_from_row
from bot.store.shared import Figures


class PgGuilds(Figures):
    """The per-server half of the PostgreSQL store (mixed into PgStore), and its counts."""

    _db: PgDatabase

    def _reads(self) -> PgDatabase:
        return self._db

    async def guild_rules(self, guild_id: int) -> GuildRules | None:
        raw = await self._db.scalar(
            "SELECT data FROM guild_settings WHERE guild_id = $1", guild_id)
        return None if raw is None else GuildRules.from_json(raw)

    async def save_guild_rules(self, guild_id: int, rules: GuildRules) -> None:
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, data) VALUES ($1, $2)"
            " ON CONFLICT (guild_id) DO UPDATE SET data = EXCLUDED.data",
            guild_id, rules.to_json(),
        )

    async def usage(self, guild_id: int, user_id: int, rules: GuildRules, now: float) -> Usage:
        """One statement, on the limit step's transaction when it runs inside one."""
        [row] = await self._db.rows(
            "SELECT"
            " (SELECT COUNT(*) FROM ledger WHERE guild_id = $1 AND user_id = $2 AND at >= $3),"
            " (SELECT COUNT(*) FROM jobs WHERE guild_id = $1 AND requester_id = $2"
            "  AND state IN ('submitting', 'running')),"
            " (SELECT COALESCE(SUM(credits), 0) FROM ledger WHERE guild_id = $1 AND at >= $4),"
            " (SELECT MAX(created_at) FROM subscriptions WHERE user_id = $2 AND guild_id = $1)",
            guild_id, user_id, day_start(now), period_start(rules.budget_period, now),
        )
        return Usage(
            user_jobs_today=int(row[0]),
            user_open_jobs=int(row[1]),
            guild_spent=float(row[2]),
            last_request_at=None if row[3] is None else float(row[3]),
        )

    async def spent(self, guild_id: int, since: float) -> float:
        total = await self._db.scalar(
            "SELECT COALESCE(SUM(credits), 0) FROM ledger WHERE guild_id = $1 AND at >= $2",
            guild_id, since)
        return float(total)

    async def jobs_page(
        self, guild_id: int, user_id: int | None, *, offset: int, limit: int
    ) -> tuple[list[Job], int]:
        """Newest first: the jobs a user asked for (or all of the server's when user_id is None)."""
        where = "s.guild_id = $1" + ("" if user_id is None else " AND s.user_id = $2")
        params: tuple[int, ...] = (guild_id,) if user_id is None else (guild_id, user_id)
        total = await self._db.scalar(
            f"SELECT COUNT(DISTINCT s.job_id) FROM subscriptions s WHERE {where}", *params)
        n = len(params)
        rows = await self._db.rows(
            f"SELECT j.* FROM jobs j WHERE j.id IN (SELECT s.job_id FROM subscriptions s"
            f" WHERE {where}) ORDER BY j.id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
            *params, limit, offset,
        )
        return [job_from_row(r) for r in rows], int(total)

    async def recent_music_tasks(self, guild_id: int, *, limit: int = 25) -> list[tuple[str, str]]:
        """(music task id, a song title from it) most recently used in this server."""
        rows = await self._db.rows(
            "SELECT music_task_id, MAX(song_title), MAX(id) AS newest FROM jobs"
            " WHERE guild_id = $1 GROUP BY music_task_id ORDER BY newest DESC LIMIT $2",
            guild_id, limit,
        )
        return [(r[0], r[1] or "") for r in rows]

    async def meta(self, key: str) -> str | None:
        value = await self._db.scalar("SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", key, value)
