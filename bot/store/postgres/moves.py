"""A job's move as one PostgreSQL statement: the job, its charge and its requesters together.

One statement is atomic without BEGIN and COMMIT, and costs one round trip instead of five or
six: with the scheduler busy, each round trip waits its turn on the event loop (bench.store_bench
measured a member's move at 7.7x its idle p99 as separate statements). Data-modifying CTEs all
see the snapshot taken before the statement; none of them touches a row another one changes.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from bot.jobs import Job, JobState, check_transition
from bot.store.errors import StoreError
from bot.store.jobs import move_columns
from bot.store.postgres.db import PgDatabase
from bot.store.rows import job_from_row

OF_MOVED = "job_id = (SELECT id FROM moved)"  # empty when the job was no longer in its state


class _Statement:
    """The statement under construction: its CTEs and positional arguments."""

    def __init__(self) -> None:
        self.ctes: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, name: str, sql: str) -> None:
        self.ctes.append(f"{name} AS ({sql})")

    def sql(self) -> str:
        return "WITH " + ", ".join(self.ctes) + " SELECT * FROM moved"


def move_statement(
    job: Job, new: JobState, now: float, shown_to: int | None, changes: dict[str, Any],
    *, refund: bool = False,
) -> tuple[str, list[Any]]:
    """The move's SQL and arguments. A refund drops the charge (a figure given with it too)."""
    check_transition(job.state, new)
    statement = _Statement()
    columns = move_columns(new, now, changes)
    assignments = ", ".join(f"{name} = {statement.arg(v)}" for name, v in columns.items())
    statement.add("moved", f"UPDATE jobs SET {assignments} WHERE id = {statement.arg(job.id)}"
                           f" AND state = {statement.arg(job.state.value)} RETURNING *")
    if refund:
        statement.add("charge", f"DELETE FROM ledger WHERE {OF_MOVED}")
    elif changes.get("credits") is not None:
        statement.add("charge", f"UPDATE ledger SET credits = {statement.arg(changes['credits'])}"
                                f" WHERE {OF_MOVED}")
    _settle(statement, new, now, shown_to)
    return statement.sql(), statement.args


def _settle(statement: _Statement, new: JobState, now: float, shown_to: int | None) -> None:
    """Who is still to be told: cancelled, shown already, or now due."""
    if new == JobState.CANCELLED:
        statement.add("settled", f"UPDATE subscriptions SET delivery = 'cancelled',"
                                 f" delivered_at = {statement.arg(now)}"
                                 f" WHERE {OF_MOVED} AND delivery IN ('waiting', 'pending')")
        return
    if not new.is_terminal:
        return
    at, not_shown = statement.arg(now), ""
    if shown_to is not None:
        statement.add("shown", f"UPDATE subscriptions SET delivery = 'shown', delivered_at = {at}"
                               f" WHERE {OF_MOVED} AND user_id = {statement.arg(shown_to)}"
                               " AND delivery = 'waiting' RETURNING id")
        not_shown = " AND id NOT IN (SELECT id FROM shown)"
    statement.add("due", f"UPDATE subscriptions SET delivery = 'pending', next_attempt_at = {at}"
                         f" WHERE {OF_MOVED} AND delivery = 'waiting'{not_shown}")


async def write_move(
    db: PgDatabase, job: Job, new: JobState, now: float, shown_to: int | None,
    changes: dict[str, Any], *, refund: bool = False,
) -> Job:
    """Move `job` (on the task's transaction if one is open); the job as written."""
    sql, args = move_statement(job, new, now, shown_to, changes, refund=refund)
    try:
        rows = await db.rows(sql, *args)
    except asyncpg.UniqueViolationError as exc:  # a remote id that belongs to another job
        raise StoreError(f"job {job.id} cannot be moved: {exc}") from exc
    if len(rows) != 1:
        raise StoreError(f"job {job.id} is no longer {job.state}")
    return job_from_row(rows[0])
