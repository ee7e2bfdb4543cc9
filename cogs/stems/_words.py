"""The member's words for a job: its state, why it ended, what it cost, what to do next."""

from __future__ import annotations

from bot import endings
from bot.errors import refusal_text
from bot.i18n import N_, _
from bot.jobs import Job, JobState

STATE_WORDS = {
    JobState.SUBMITTING: N_("Starting…"),
    JobState.RUNNING: N_("Splitting…"),
    JobState.SUCCEEDED: N_("Finished"),
    JobState.FAILED: N_("Failed"),
    JobState.TIMED_OUT: N_("Took too long"),
    JobState.CANCELLED: N_("Cancelled"),
    JobState.INTERRUPTED: N_("Interrupted"),
}

# The stem names bot.jobs.stem_label gives the keys the API is known to use: translated where
# shown; a name the API invents passes through as it is.
STEM_WORDS = (
    N_("Vocals"), N_("Backing vocals"), N_("Instrumental"), N_("Drums"), N_("Bass"),
    N_("Guitar"), N_("Keyboard"), N_("Piano"), N_("Strings"), N_("Brass"), N_("Woodwinds"),
    N_("Percussion"), N_("Synth"), N_("FX / other"), N_("Other"),
)

UNCONFIRMED = N_(
    "The bot could not confirm that the stem service started this job, so it may have been "
    "charged. It was not sent again."
)
# A stored code (bot/endings.py) -> the message a member reads, in their language.
REASONS = {
    endings.TIMED_OUT: N_("The stem service did not finish in time."),
    endings.NOT_FOUND: N_(
        "The stem service lost track of this job, so its stems can't be fetched."
    ),
    endings.NO_STEMS: N_("The split finished but gave back no stems."),
    endings.API_FAILED: N_("The stem service could not split this song."),
    endings.UNCONFIRMED: UNCONFIRMED,
    endings.INTERRUPTED: UNCONFIRMED,
    endings.DEAD: UNCONFIRMED,
}
# Anything else (a sentence an older version stored, an unknown code): the state's own words.
DEFAULT_REASON = {
    JobState.FAILED: N_("The stem service could not split this song."),
    JobState.TIMED_OUT: N_("The stem service did not finish in time."),
    JobState.INTERRUPTED: UNCONFIRMED,
    JobState.CANCELLED: N_("Cancelled on request."),
}


def state_word(job: Job) -> str:
    return _(STATE_WORDS[job.state])


def reason(job: Job) -> str:
    """Why an ended job ended, in the reader's words: worded now from the stored code, never
    shown as stored (the API's words are in the log and `error_detail`, for operators)."""
    ending = endings.read(job.error)
    if ending is not None and ending.kind in REASONS:
        return _(REASONS[ending.kind])
    if ending is not None and ending.number is not None:
        if ending.kind == endings.REFUSED:
            return _(refusal_text(ending.number))
        if ending.kind == endings.CANCELLED_BY:
            return _("Cancelled by {member}.", member=f"<@{ending.number}>")
    return _(DEFAULT_REASON.get(job.state, DEFAULT_REASON[JobState.FAILED]))


def credits_line(job: Job) -> str:
    """Whether this job cost credits: it did once the stem service accepted it."""
    if job.state == JobState.INTERRUPTED:
        return _("Credits may have been spent.")
    if job.remote_id is None:
        return _("No credits were spent.")
    return _("Credits were spent on this job.")


def next_step(job: Job) -> str:
    if job.state == JobState.TIMED_OUT:
        return _("It may still finish: check later with `/stems status job:{job}`.", job=job.id)
    if job.state == JobState.INTERRUPTED:
        return _("Ask again only if you accept that it may be charged twice.")
    if job.state == JobState.CANCELLED:
        return _("Ask again with `/stems separate` if you still want it.")
    return _("You can ask again with `/stems separate`.")
