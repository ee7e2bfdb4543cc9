"""The member's words for a job: its state, why it ended, what it cost, what to do next."""

from __future__ import annotations

from bot.errors import _USER_TEXT, REFUSED_TEXT, UnconfirmedSubmission
from bot.i18n import N_, _
from bot.jobs import Job, JobState
from bot.scheduler.loop import INTERRUPTED_TEXT
from bot.scheduler.outcomes import NO_STEMS_TEXT, NOT_FOUND_TEXT, TIMED_OUT_TEXT
from bot.service.followup import CANCEL_TEXT, DEAD_TEXT

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
# What the database holds today (finished English sentences) -> the message a member reads.
# Round 2 stores codes instead; this table becomes code -> message.
REASONS = {
    TIMED_OUT_TEXT: N_("The stem service did not finish in time."),
    NOT_FOUND_TEXT: N_("The stem service lost track of this job, so its stems can't be fetched."),
    NO_STEMS_TEXT: N_("The split finished but gave back no stems."),
    DEAD_TEXT: UNCONFIRMED,
    INTERRUPTED_TEXT: UNCONFIRMED,
    UnconfirmedSubmission.TEXT: UNCONFIRMED,
    CANCEL_TEXT: N_("Cancelled on request."),
    **{text: text for text in (*_USER_TEXT.values(), REFUSED_TEXT)},
}
DEFAULT_REASON = {
    JobState.FAILED: N_("The stem service could not split this song."),
    JobState.TIMED_OUT: N_("The stem service did not finish in time."),
    JobState.INTERRUPTED: UNCONFIRMED,
    JobState.CANCELLED: N_("Cancelled on request."),
}


def state_word(job: Job) -> str:
    return _(STATE_WORDS[job.state])


def reason(job: Job) -> str:
    """Why an ended job ended, in our words: API text never reaches a member (it is logged)."""
    known = REASONS.get(job.error or "")
    if known is not None:
        return _(known)
    if (job.error or "").startswith("The API refused the request"):
        return _(REFUSED_TEXT)
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
