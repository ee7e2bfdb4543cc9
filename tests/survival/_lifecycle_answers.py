"""Every way the lifecycle machine's API and Discord answer a call (benign first: shrinking)."""

from __future__ import annotations

import json

from tests.survival._lifecycle_rig import Answer


def env(code: object, message: str = "error", data: object = None) -> str:
    return json.dumps({"code": code, "message": message, "data": data})


def html(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


def sep(status: object, result: object = None) -> str:
    return env(200, "success", {"task_id": "{task_id}", "status": status, "result": result})


MALFORMED = '{"code": 200, "data": '
RETRY_2 = (("Retry-After", "2"),)

CREATE_ANSWERS = (
    # Refused: the answer proves nothing was made.
    Answer("create: 402", "before", 402, env(402, "insufficient credits")),
    Answer("create: 422", "before", 422, env(422, "suno_id not found in task")),
    Answer("create: 429", "before", 429, env(429, "too many requests"), headers=RETRY_2),
    Answer("create: 455 in a 200", "before", 200, env(455, "service under maintenance")),
    Answer("create: 505", "before", 505, env(505, "feature disabled")),
    # Not acted on, but nothing in the answer proves it.
    Answer("create: 500 envelope", "before", 500, env(500, "internal server error")),
    Answer("create: 502 page", "before", 502, html("502 Bad Gateway"), "text/html"),
    Answer("create: code 0", "before", 200, env(0, "ok")),
    Answer("create: broken JSON", "before", 200, MALFORMED),
    Answer("create: reset", "before", body="reset"),
    Answer("create: hang", "before", body="hang"),
    # Acted on (created and charged), then the answer is lost or garbled.
    Answer("create: made, then 502 page", "after", 502, html("502 Bad Gateway"), "text/html"),
    Answer("create: made, then 500 envelope", "after", 500, env(500, "internal server error")),
    Answer("create: made, then empty 503", "after", 503, "", "text/plain"),
    Answer("create: made, then taskId", "after", 200, env(200, "success", {"taskId": "sep-x"})),
    Answer("create: made, then numeric id", "after", 200, env(200, "success", {"task_id": 7})),
    Answer("create: made, then reset", "after", body="reset"),
    Answer("create: made, then hang", "after", body="hang"),
)

TASK_INFO_ANSWERS = (
    Answer("info: 500 envelope", "before", 500, env(500, "internal server error")),
    Answer("info: 429 for 3 s", "before", 429, env(429, "slow down"),
           headers=(("Retry-After", "3"),)),
    Answer("info: 455", "before", 455, env(455, "service under maintenance")),
    Answer("info: 404", "before", 404, env(404, "task not found")),
    Answer("info: 408", "before", 408, env(408, "request timeout")),
    Answer("info: 401", "before", 401, env(401, "invalid api key")),
    Answer("info: 522 page", "before", 522, html("522 Connection timed out"), "text/html"),
    Answer("info: broken JSON", "before", 200, MALFORMED),
    Answer("info: a JSON list", "before", 200, "[]"),
    Answer("info: data null", "before", 200, env(200, "success", None)),
    Answer("info: code 200.0", "before", 200,
           sep("running").replace('"code": 200', '"code": 200.0')),
    Answer("info: unknown word", "before", 200, sep("brewing")),
    Answer("info: failure word", "before", 200, sep("GENERATE_AUDIO_FAILED")),
    Answer("info: success, no media", "before", 200, sep("success", {})),
    Answer("info: success, media list", "before", 200,
           sep("SUCCESS", {"media_info": [{"url": "http://127.0.0.1:9/v.mp3"}]})),
    Answer("info: 400-digit number", "before", 200,
           sep("running").replace('"result": null', '"result": null, "create_at": 1' + "0" * 400)),
    Answer("info: 429 for 30 years", "before", 429, env(429, "slow down"),
           headers=(("Retry-After", "1000000000"),)),
    Answer("info: reset", "before", body="reset"),
    Answer("info: hang", "before", body="hang"),
)

CREATE = {a.label: a for a in CREATE_ANSWERS}  # drawn by label: a failing example reads short
TASK_INFO = {a.label: a for a in TASK_INFO_ANSWERS}
DISCORD_ANSWERS: tuple[int | str, ...] = (200, 204, 429, 500, 503, 400, 403, 404, "crash")
