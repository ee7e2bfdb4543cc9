"""Why a job ended, as the stable code stored in `job.error`; the words are chosen where shown.

The database never holds a sentence: a sentence would be shown later in whatever language it
was saved in. Any text the API gave goes to the log and `job.error_detail` (operators only).
"""

from __future__ import annotations

from dataclasses import dataclass

TIMED_OUT = "timed_out"  # the deadline passed before the stem service finished
NOT_FOUND = "not_found"  # the stem service no longer knows the separation
NO_STEMS = "no_stems"  # it finished but gave back nothing to download
API_FAILED = "api_failed"  # it said the separation failed (its words: error_detail)
UNCONFIRMED = "unconfirmed"  # CreateTask got no usable answer: it may have been charged
INTERRUPTED = "interrupted"  # the bot stopped while the job was being submitted
DEAD = "dead"  # a submission that crashed in this process, found later
REFUSED = "refused"  # `refused:<code>`: CreateTask refused, provably nothing charged
CANCELLED_BY = "cancelled_by"  # `cancelled_by:<user id>`: the last one waiting cancelled it

PLAIN = frozenset({TIMED_OUT, NOT_FOUND, NO_STEMS, API_FAILED, UNCONFIRMED, INTERRUPTED, DEAD})


@dataclass(frozen=True)
class Ending:
    """A stored code read back: its kind, and the number it carries (API code, user id)."""

    kind: str
    number: int | None = None


def refused(code: int) -> str:
    return f"{REFUSED}:{code}"


def cancelled_by(user_id: int) -> str:
    return f"{CANCELLED_BY}:{user_id}"


def read(stored: str | None) -> Ending | None:
    """The code in `stored`; None for anything else (empty, or a sentence an older version
    wrote), which is shown as the state's generic message, never as it is."""
    if stored in PLAIN:
        return Ending(stored)
    kind, _, number = (stored or "").partition(":")
    if kind in (REFUSED, CANCELLED_BY) and number.lstrip("-").isdigit():
        return Ending(kind, int(number))
    return None
