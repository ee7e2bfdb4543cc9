"""The databases the store benchmark runs on: SQLite files, and a throwaway PostgreSQL cluster
(tests/_postgres.py) where its binaries exist; without them one line says its column is skipped."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.database_url import DatabaseUrl
from tests import _postgres as pg


@dataclass(frozen=True)
class Backend:
    """One store backend; `fresh` names a new, empty database on it."""

    name: str
    folder: Path
    cluster: pg.Cluster | None = None

    async def fresh(self, name: str) -> Settings:
        path = self.folder / f"{self.name}-{name}.sqlite3"
        if self.cluster is None:
            return Settings(database_path=path)
        dsn = await pg.create_database(self.cluster, f"bench_{name}")
        return Settings(database_path=path, database_url=DatabaseUrl(dsn))


def _skipped(reason: str) -> None:
    print(f"bench.store_bench: the postgresql column is skipped: {reason}", file=sys.stderr)


@asynccontextmanager
async def backends(folder: Path) -> AsyncIterator[list[Backend]]:
    """SQLite, then PostgreSQL when a cluster starts (it is stopped and deleted after)."""
    found = [Backend("sqlite", folder)]
    bin_dir = pg.find_bin_dir()
    with ExitStack() as stack:
        if bin_dir is None:
            _skipped("no PostgreSQL binaries (initdb, pg_ctl; or set STEMBOT_PG_BIN)")
        else:
            try:
                found.append(Backend("postgresql", folder, stack.enter_context(
                    pg.cluster(bin_dir))))
            except pg.ClusterError as exc:
                _skipped(str(exc))
        yield found
