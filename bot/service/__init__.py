"""Every decision about a request: submit, join/reuse, limits, estimate, cancel (SubmitService).

submit.py (the service), request.py (what is asked, what comes of it), create.py (the one paid
call and what is written after it), ids.py (cleaning ids and API text), locks.py (one lock per
song). After submission: followup.py.
"""

from __future__ import annotations

from bot.service.ids import clean_music_task_id, clean_song_id, describe_songs, inert
from bot.service.request import Limits, Outcome, Request, Submission
from bot.service.submit import ESTIMATED_CREDITS, SubmitService

__all__ = [
    "ESTIMATED_CREDITS",
    "Limits",
    "Outcome",
    "Request",
    "Submission",
    "SubmitService",
    "clean_music_task_id",
    "clean_song_id",
    "describe_songs",
    "inert",
]
