"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl as `postgres`, on a unix socket."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
REQUIRE_ENV = "STEMBOT_REQUIRE_POSTGRES"
OWNER = "postgres"  # initdb refuses to run as root
START_TIMEOUT_S = 30


class ClusterError(RuntimeError):
    """initdb or pg_ctl failed."""


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its socket folder and a superuser to connect as."""

    socket_dir: Path
    port: int
    user: str

    def dsn(self, database: str = "postgres") -> str:
        # libpq and asyncpg both take the socket folder as `host` in the query string.
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: $STEMBOT_PG_BIN, the Debian path, or the PATH."""
    candidates = [Path(p) for p in (os.environ.get("STEMBOT_PG_BIN"),) if p]
    candidates += list(BIN_DIRS)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).parent)
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()),
                None)


def unavailable(reason: str) -> NoReturn:
    """Skip with one clear line, or fail where PostgreSQL is required (CI)."""
    line = f"PostgreSQL tests need a local PostgreSQL: {reason}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{line} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(line)


def _as_owner(root: bool) -> list[str]:
    """Run as the `postgres` user when we are root (initdb refuses root), else as ourselves."""
    return ["runuser", "-u", OWNER, "--"] if root else []


def _run(run_as: list[str], program: Path, *args: str) -> None:
    done = subprocess.run([*run_as, str(program), *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise ClusterError(f"{program.name} failed: {done.stderr.strip() or done.stdout.strip()}")


async def create_database(cluster: Cluster, name: str) -> str:
    """A new empty database on the cluster; its DSN."""
    connection = await asyncpg.connect(cluster.dsn())
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return cluster.dsn(name)


@contextmanager
def cluster(bin_dir: Path, port: int = 5432) -> Iterator[Cluster]:
    """initdb, start on a unix socket only (listen_addresses=''), yield, stop fast, delete."""
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="stembot-pg-"))
    data, sockets = folder / "data", folder / "socket"
    sockets.mkdir()
    user = OWNER if root else pwd.getpwuid(os.geteuid()).pw_name
    if root:
        owner = pwd.getpwnam(OWNER)
        for path in (folder, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    run_as = _as_owner(root)
    try:
        _run(run_as, bin_dir / "initdb", "-D", str(data), "-A", "trust", "-U", user,
             "-E", "UTF8", "--no-sync")
        options = f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off"
        _run(run_as, bin_dir / "pg_ctl", "-D", str(data), "-o", options,
             "-l", str(folder / "server.log"), "-w", "-t", str(START_TIMEOUT_S), "start")
        try:
            yield Cluster(sockets, port, user)
        finally:
            _run(run_as, bin_dir / "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
