"""Tests that read the SQLite file beneath the interface (ledger rows, integrity) say so here."""

from __future__ import annotations

from bot.store import JobStore, Store


def sqlite(store: Store) -> JobStore:
    """The engine's store as the SQLite backend it is in these tests."""
    assert isinstance(store, JobStore), f"this test reads SQLite, not {type(store).__name__}"
    return store
