"""The API's own words in a refusal, when it gave any: shown next to our explanation."""

from __future__ import annotations

import re

from bot.errors import ApiError

_STATUS_LINE = re.compile(r"(HTTP )?\d+\b.*")
_EMPTY_WORDS = frozenset({"error", "success", "fail", "failed"})


def api_words(exc: BaseException | None) -> str | None:
    """The message of an API refusal (or of the refusal behind `exc`), one line, bounded; None
    when the API said nothing of its own (no envelope, empty, or only a status line)."""
    if exc is not None and not isinstance(exc, ApiError):
        exc = exc.__cause__
    if not isinstance(exc, ApiError) or not exc.envelope:
        return None
    message = " ".join(exc.message.split())
    if not message or _STATUS_LINE.fullmatch(message) or message.lower() in _EMPTY_WORDS:
        return None
    return message if len(message) <= 300 else message[:299] + "…"
