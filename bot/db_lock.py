"""One stembot per database: an exclusive lock on `<db>.lock`, released when its holder dies."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


class DatabaseInUse(Exception):
    """Another process holds the database's lock."""


def hold(path: Path) -> IO[bytes]:
    """Take `<db>.lock` for this process, or refuse: one stembot per database."""
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "ab")  # held open for the store's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUse(
            f"another stembot is already running on the database {path} (it holds "
            f"{lock_path}). Run one stembot per database: stop the other one first."
        ) from None
    except OSError:
        handle.close()
        raise
    return handle


def release(handle: IO[bytes] | None) -> None:
    if handle is not None:
        handle.close()  # closing the file releases the lock
