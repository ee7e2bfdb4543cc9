"""The SQLite store behind an engine, for tests that read its tables by SQL (the rig's backend)."""

from __future__ import annotations

from bot.store import JobStore, Store


def sqlite(store: Store) -> JobStore:
    """`store` as the SQLite JobStore it is in these tests (the engine holds any `Store`)."""
    assert isinstance(store, JobStore), "this test reads SQLite's tables"
    return store
