"""`stembot migrate-db`: copy an SQLite database into an empty PostgreSQL one, counts verified."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.store.db import Database
from bot.store.errors import StoreError
from bot.store.postgres.db import PgDatabase

log = logging.getLogger(__name__)

# Parents before children (foreign keys). Leases, claims and heartbeats are not copied: they
# name processes of the old database; the new processes take the open jobs afresh.
TABLES = ("jobs", "subscriptions", "ledger", "guild_settings", "meta")
NOT_COPIED = {"lease_owner", "lease_until", "claimed_by", "claimed_until"}
IDENTITIES = ("jobs", "subscriptions", "ledger")


async def copy_to_postgres(sqlite_path: Path, dsn: str) -> dict[str, int]:
    """Copy every row of TABLES in one transaction; the rows per table. Refuses a target that
    holds any row, and a source a running stembot holds (its later writes would be lost)."""
    source = await Database.open(sqlite_path, exclusive=True)
    try:
        target = await PgDatabase.open(dsn, pool_size=1)
        try:
            await _refuse_non_empty(target)
            counts = await _copy(source, target)
            await _verify(target, counts)
        finally:
            await target.close()
    finally:
        await source.close()
    return counts


async def _refuse_non_empty(target: PgDatabase) -> None:
    held = {t: int(await target.scalar(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}
    if any(held.values()):
        rows = ", ".join(f"{n} {t}" for t, n in held.items() if n)
        raise StoreError(f"the target database is not empty ({rows}); migrate-db copies into "
                         "an empty database only")


async def _columns(source: Database, table: str) -> list[str]:
    info = await source.rows(f"PRAGMA table_info({table})")
    return [str(r["name"]) for r in info if r["name"] not in NOT_COPIED]


async def _copy(source: Database, target: PgDatabase) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with target.transaction() as connection:
        for table in TABLES:
            columns = await _columns(source, table)
            rows = await source.rows(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
            await connection.copy_records_to_table(
                table, records=[tuple(r) for r in rows], columns=columns)
            counts[table] = len(rows)
            log.info("copied %d rows of %s", len(rows), table)
        for table in IDENTITIES:  # new rows continue after the copied ids
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
    return counts


async def _verify(target: PgDatabase, counts: dict[str, int]) -> None:
    for table, expected in counts.items():
        found = int(await target.scalar(f"SELECT COUNT(*) FROM {table}"))
        if found != expected:
            raise StoreError(f"{table}: {found} rows in the target, {expected} in the source")
