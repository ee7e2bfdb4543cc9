"""The sandbox's seed data: models, prices, durations, stem keys, demo codes and music tasks."""

from __future__ import annotations

from bot.jobs import Mode

DEFAULT_MODEL = "suno/vocal-separatio"
MUSIC_MODEL = "suno/music-generate"
CREDITS = {Mode.VOCAL: 1.0, Mode.INSTRUMENTAL: 5.0}
DURATION_S = {Mode.VOCAL: 3.0, Mode.INSTRUMENTAL: 5.0}
URL_LIFETIME_S = 14 * 24 * 3600  # peer services keep result links for 14 days

VOCAL_KEYS = ("vocal_url", "instrumental_url")
INSTRUMENTAL_KEYS = (
    "vocal_url",
    "backing_vocals_url",
    "drums_url",
    "bass_url",
    "guitar_url",
    "keyboard_url",
    "strings_url",
    "brass_url",
    "woodwinds_url",
    "percussion_url",
    "synth_url",
    "fx_url",
)
NESTED_KEY = "synth_url"  # served as {"url": ...}: clients must not assume flat strings

# CreateTask on music task "demo-error-<code>" answers with that code, for demos of every reply.
DEMO_ERROR_PREFIX = "demo-error-"
DEMO_ERROR_CODES = frozenset({401, 402, 404, 422, 429, 455, 500, 501, 505})
DEMO_RETRY_AFTER_S = 2.0
# CreateTask on "demo-error-<code>" for these codes creates and charges the separation, then
# answers with a proxy's HTML page: the answer proves nothing about money (issue 9, case 1).
DEMO_AFTER_CODES = frozenset({502})

MESSAGES = {
    401: "invalid api key",
    402: "insufficient credits",
    404: "task not found",
    422: "validation failed",
    429: "too many requests",
    455: "service under maintenance",
    500: "internal server error",
    501: "generation failed",
    505: "feature disabled",
}

# (music_task_id, status, ((song_id, title), ...)). Real ids are uuids, hence the last one.
SEED_MUSIC_TASKS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "demo-music-task",
        "success",
        (("demo-song-1", "Midnight Addiction"), ("demo-song-2", "Midnight Addiction (alt take)")),
    ),
    ("demo-pending-task", "running", (("demo-pending-song", "Half-Written Chorus"),)),
    ("demo-failed-task", "failed", (("demo-failed-song", "Lost Signal"),)),
    (
        "4f1b0c2e-7d3a-4b9e-a1c5-6e2f8d0b3a97",
        "success",
        (("b7e3c9a1-5d2f-4a6e-8b0c-3f1e7d9a2c45", "Paper Lanterns"),),
    ),
)

ENDPOINTS = ("CreateTask", "TaskInfo", "balance", "estimate-credits")
FAILED = "separation failed"
MALFORMED_BODY = '{"code": 200, "data": '
PROXY_PAGE = (
    "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1>"
    "</center><hr><center>nginx</center></body></html>"
)
FAKE_AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8
