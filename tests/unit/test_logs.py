"""Logging: readable text or JSON lines, and known secrets scrubbed from both."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure

SECRET = "SENTINEL-secret-123456"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_json_lines_carry_level_logger_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    configure("info", "json", [SECRET])

    logging.getLogger("bot.scheduler").info("job %d: %s -> %s", 12, "running", "succeeded")
    logging.getLogger("bot.scheduler").debug("not shown at info")

    [line] = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "bot.scheduler"
    assert entry["message"] == "job 12: running -> succeeded"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_redacted_in_messages_and_tracebacks(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("debug", fmt, [SECRET])
    log = logging.getLogger("bot.test")

    log.warning("calling with key %s", SECRET)
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        log.exception("boom")

    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("[redacted]") >= 2 and "boom" in err
