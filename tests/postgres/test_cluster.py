"""The throwaway PostgreSQL cluster the store tests will run on: reachable through asyncpg."""

from __future__ import annotations

import asyncpg


async def test_a_table_created_through_asyncpg_reads_back(fresh_postgres_url: str) -> None:
    connection = await asyncpg.connect(fresh_postgres_url)
    try:
        await connection.execute("CREATE TABLE songs (id serial PRIMARY KEY, song_id text)")
        await connection.executemany(
            "INSERT INTO songs (song_id) VALUES ($1)", [("demo-song-1",), ("demo-song-2",)]
        )
        rows = await connection.fetch("SELECT id, song_id FROM songs ORDER BY id")
    finally:
        await connection.close()
    assert [(r["id"], r["song_id"]) for r in rows] == [(1, "demo-song-1"), (2, "demo-song-2")]


async def test_each_test_gets_an_empty_database(fresh_postgres_url: str) -> None:
    connection = await asyncpg.connect(fresh_postgres_url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    assert tables == 0


async def test_the_session_database_answers(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("SELECT current_database()") == "stembot_test"
    finally:
        await connection.close()
