"""The database schema as numbered migrations, applied in order on PRAGMA user_version."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: jobs, their requesters (with delivery records), spending ledger, guild settings
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        music_task_id TEXT NOT NULL,
        song_id TEXT NOT NULL,
        mode TEXT NOT NULL,
        state TEXT NOT NULL,
        guild_id INTEGER,
        channel_id INTEGER,
        requester_id INTEGER,
        song_title TEXT,
        remote_id TEXT UNIQUE,
        created_at REAL NOT NULL,
        submitted_at REAL,
        finished_at REAL,
        deadline_at REAL,
        error TEXT,
        credits REAL,
        callback_token TEXT UNIQUE,
        poll_count INTEGER NOT NULL DEFAULT 0,
        stems TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX jobs_one_open_per_song ON jobs (music_task_id, song_id, mode)
        WHERE state IN ('submitting', 'running');
    CREATE INDEX jobs_open ON jobs (state) WHERE state IN ('submitting', 'running');
    CREATE INDEX jobs_reuse ON jobs (music_task_id, song_id, mode, finished_at)
        WHERE state = 'succeeded';
    CREATE INDEX jobs_durations ON jobs (mode, finished_at) WHERE state = 'succeeded';
    CREATE INDEX jobs_guild ON jobs (guild_id, id);
    CREATE INDEX jobs_finished ON jobs (finished_at);

    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        user_id INTEGER,
        guild_id INTEGER,
        channel_id INTEGER,
        created_at REAL NOT NULL,
        delivery TEXT NOT NULL DEFAULT 'waiting',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        delivered_at REAL,
        detail TEXT,
        message_id INTEGER,
        UNIQUE (job_id, user_id)
    );
    CREATE INDEX subs_due ON subscriptions (next_attempt_at) WHERE delivery = 'pending';
    CREATE INDEX subs_user ON subscriptions (user_id, guild_id, id);

    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
        guild_id INTEGER,
        user_id INTEGER,
        at REAL NOT NULL,
        credits REAL NOT NULL
    );
    CREATE INDEX ledger_guild ON ledger (guild_id, at);
    CREATE INDEX ledger_user ON ledger (guild_id, user_id, at);
    CREATE INDEX ledger_job ON ledger (job_id);

    CREATE TABLE guild_settings (
        guild_id INTEGER PRIMARY KEY,
        data TEXT NOT NULL
    );

    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: leases and claims for the interface PostgreSQL shares between processes (here one
    #    process holds them all), and the processes' heartbeats
    """
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL;
    ALTER TABLE subscriptions ADD COLUMN claimed_by TEXT;
    ALTER TABLE subscriptions ADD COLUMN claimed_until REAL;
    CREATE TABLE processes (
        name TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    );
    """,
    # 3: issue 12: the API's words apart from the ending's code (operators only), and the
    #    language each requester asked in (their late DM is written in it)
    """
    ALTER TABLE jobs ADD COLUMN error_detail TEXT;
    ALTER TABLE subscriptions ADD COLUMN locale TEXT;
    """,
    # 4: issue 12: each request's public status message, until its final state is shown in it
    #    (a restart re-watches it, and corrects one whose job ended meanwhile)
    """
    ALTER TABLE subscriptions ADD COLUMN status_channel_id INTEGER;
    ALTER TABLE subscriptions ADD COLUMN status_message_id INTEGER;
    ALTER TABLE subscriptions ADD COLUMN status_shown_at REAL;
    CREATE INDEX subs_status ON subscriptions (job_id)
        WHERE status_message_id IS NOT NULL AND status_shown_at IS NULL;
    """,
)

LATEST = len(MIGRATIONS)
