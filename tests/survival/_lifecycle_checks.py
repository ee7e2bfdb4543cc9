"""The lifecycle machine's invariants, each over the database file and what the rig recorded."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.rules import GuildRules, day_start, period_start
from tests.survival._lifecycle_rig import ScriptedDiscord, ScriptedSandbox, db_rows

FINAL_TOLD = ("channel", "dm", "undeliverable")


@dataclass
class Model:
    """What members were told on the spot, and what they asked for, as the machine saw it."""

    told_in_reply: set[tuple[int, int]] = field(default_factory=set)  # (job, user): an error
    maybe_told: set[tuple[int, int]] = field(default_factory=set)  # a crash hid which request
    reused: set[tuple[int, int]] = field(default_factory=set)  # (job, user): shown at once
    cancelled_by: set[tuple[int, int]] = field(default_factory=set)  # (job, user) asked to cancel
    admin_cancels: dict[int, set[int]] = field(default_factory=dict)  # job -> admins' guilds
    joined_dead: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


@dataclass
class Snapshot:
    jobs: dict[int, sqlite3.Row]
    subs: list[sqlite3.Row]
    ledger: list[sqlite3.Row]

    @classmethod
    def read(cls, path: Path) -> Snapshot:
        jobs = {int(r["id"]): r for r in db_rows(path, "SELECT * FROM jobs")}
        return cls(jobs, db_rows(path, "SELECT * FROM subscriptions ORDER BY id"),
                   db_rows(path, "SELECT * FROM ledger ORDER BY id"))


def create_calls(snap: Snapshot, sandbox: ScriptedSandbox) -> list[str]:
    """CreateTask calls equal the jobs that needed one: one per job that reached the call."""
    calls = Counter(sandbox.create_for)
    bad = [f"a CreateTask for no job in `submitting` ({calls[None]}x)"] if calls[None] else []
    for job_id, job in snap.jobs.items():
        sent = calls[job_id]
        unsure = job["state"] in ("submitting", "interrupted")  # may have died before the call
        if sent > 1 or (sent == 0 and not unsure):
            bad.append(f"job {job_id} ({job['state']}) had {sent} CreateTask calls")
        if job["remote_id"] is not None and sandbox.performed.get(job["remote_id"]) != job_id:
            bad.append(f"job {job_id} tracks {job['remote_id']}, which the API did not make for it")
    return bad


def ledger(snap: Snapshot, sandbox: ScriptedSandbox) -> list[str]:
    """Never below what may have been charged; never two rows for one job."""
    rows = Counter(r["job_id"] for r in snap.ledger)
    bad = [f"job {j} has {n} ledger rows" for j, n in rows.items() if j is not None and n > 1]
    for remote_id, job_id in sandbox.performed.items():
        if job_id is None or rows[job_id] == 0:
            bad.append(f"the API made and charged {remote_id} (job {job_id}): no ledger row")
    return bad


def paid_results(snap: Snapshot, sandbox: ScriptedSandbox) -> list[str]:
    """A paid job ends failed only when the API said it failed (its status, or a failure word)."""
    bad = []
    for job_id, job in snap.jobs.items():
        remote_id = job["remote_id"]
        if job["state"] != "failed" or remote_id is None:
            continue
        made = sandbox.separations.get(remote_id)
        said_failed = made is not None and made.state.value == "failed"
        if not said_failed and "info: failure word" not in sandbox.told[remote_id]:
            bad.append(f"lost: paid job {job_id} was failed ({job['error']!r}) though the API "
                       f"never said so (it answered {sorted(sandbox.told[remote_id])})")
    return bad


def subscriptions(snap: Snapshot, discord: ScriptedDiscord, model: Model) -> list[str]:
    """Each is delivered once, told of a failure once, or still tracked; none is dropped."""
    bad = []
    for sub in snap.subs:
        job, key, state = snap.jobs[sub["job_id"]], (sub["job_id"], sub["user_id"]), sub["delivery"]
        where = f"sub {sub['id']} (job {sub['job_id']} {job['state']}, user {sub['user_id']})"
        is_open = job["state"] in ("submitting", "running")
        if state == "waiting" and not is_open:
            bad.append(f"lost: {where} still waits on an ended job")
        if state == "pending" and (is_open or sub["next_attempt_at"] is None):
            bad.append(f"lost: {where} is pending with no delivery due")
        if state == "shown" and key not in model.told_in_reply | model.maybe_told | model.reused:
            bad.append(f"lost: {where} is marked told, but nobody told this member")
        if state == "cancelled" and key not in model.cancelled_by and sub["guild_id"] not in (
                model.admin_cancels.get(sub["job_id"], set())):
            bad.append(f"lost: {where} was cancelled, but not by this member or their admin")
        if state in ("channel", "dm") and discord.seen[sub["id"]] == 0:
            bad.append(f"lost: {where} is recorded {state}, but no message reached the member")
        told = discord.seen[sub["id"]] + (key in model.told_in_reply)
        if told > 1:
            bad.append(f"duplicate: {where} was told {told} times")
    return bad + model.joined_dead + model.unanswered


def limits(snap: Snapshot, rules: dict[int, GuildRules]) -> list[str]:
    """No server budget, daily limit or open-jobs limit is exceeded."""
    bad = []
    spent: Counter[tuple[int, float]] = Counter()
    daily: Counter[tuple[int, int, float]] = Counter()
    for row in snap.ledger:
        guild = rules.get(row["guild_id"])
        if guild is None:
            continue
        spent[(row["guild_id"], period_start(guild.budget_period, row["at"]))] += row["credits"]
        daily[(row["guild_id"], row["user_id"], day_start(row["at"]))] += 1
    for (guild_id, _), credits in spent.items():
        budget = rules[guild_id].budget_credits
        if budget is not None and credits > budget + 1e-9:
            bad.append(f"server {guild_id} spent {credits:g} of a {budget:g} budget")
    for (guild_id, user_id, _), count in daily.items():
        limit = rules[guild_id].daily_user_limit
        if limit is not None and count > limit:
            bad.append(f"user {user_id} in {guild_id} made {count} paid requests; limit {limit}")
    open_jobs = Counter((j["guild_id"], j["requester_id"]) for j in snap.jobs.values()
                        if j["state"] in ("submitting", "running"))
    for (guild_id, user_id), count in open_jobs.items():
        if guild_id in rules and count > rules[guild_id].max_open_per_user:
            bad.append(f"user {user_id} in {guild_id} has {count} open jobs")
    return bad


def tracking(snap: Snapshot, tracked: set[int], last_pass_at: float | None,
             grace_s: float) -> list[str]:
    """No running job is untracked; none is tracked past its deadline once the loop ran after."""
    bad = []
    for job_id, job in snap.jobs.items():
        if job["state"] == "running" and job_id not in tracked:
            bad.append(f"job {job_id} is running but the scheduler does not track it")
        late = job["deadline_at"] is not None and last_pass_at is not None and (
            last_pass_at > job["deadline_at"] + grace_s)
        if late and (job_id in tracked or job["state"] == "running"):
            bad.append(f"job {job_id} is still tracked {last_pass_at - job['deadline_at']:.0f} s"
                       " past its deadline")
    return bad


def everyone_told(snap: Snapshot) -> list[str]:
    """After a long healthy spell: no job is open and no subscription is still waiting."""
    bad = [f"job {j} is still {r['state']}" for j, r in snap.jobs.items()
           if r["state"] in ("submitting", "running")]
    bad += [f"lost: sub {s['id']} (job {s['job_id']}) is still {s['delivery']}"
            for s in snap.subs if s["delivery"] in ("waiting", "pending")]
    return bad
