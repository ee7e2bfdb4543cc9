"""The two error kinds the edges map to replies: UserError and ApiError."""

from __future__ import annotations

from bot.i18n import N_


class UserError(Exception):
    """Text meant for the person who invoked a command; shown privately, never logged."""


# ApiError.code values that are ours, not the API's: no usable reply came back. Negative, so
# they can never collide with a code the API sends (0 and 1 included).
NO_REPLY = -1  # connection refused/reset, timeout
BAD_REPLY = -2  # a reply that is not the documented JSON envelope

TRANSIENT_CODES = frozenset({NO_REPLY, BAD_REPLY, 429, 455, 500, 502, 503, 504})
PAUSE_CODES = frozenset({429, 455})  # the whole API wants us to slow down
# Envelope codes that prove CreateTask made nothing (docs/crun-api.md, "What an answer proves
# about money"). Anything else, 5xx and unknown codes included, may have created and charged.
REFUSAL_CODES = frozenset({401, 402, 404, 422, 429, 455, 505})

# Member-facing, in the product's words (no codes, no "API"); English here, translated where
# shown (`_(exc.user_text)`). A refused job stores `refused:<code>` (bot/endings.py) and is
# worded from this table when shown, in its reader's language.
_USER_TEXT = {
    401: N_("The bot's stem service key is missing or invalid. Please tell a server admin."),
    402: N_("The bot is out of credits for the stem service. Please tell a server admin."),
    404: N_("That music task or song was not found."),
    429: N_("The stem service is busy right now; please try again in a moment."),
    455: N_("The stem service is down for maintenance; please try again later."),
    500: N_("The stem service had a temporary failure; please try again."),
    501: N_("The stem service could not split this song."),
    505: N_("Splitting is turned off at the stem service right now; please try again later."),
    NO_REPLY: N_("The stem service did not answer; please try again."),
    BAD_REPLY: N_("The stem service sent an answer the bot could not read; please try again."),
}
REFUSED_TEXT = N_(
    "The stem service refused this request. Check the music task and the song, and try again."
)


def refusal_text(code: int) -> str:
    """The member's words (English msgid) for an API or transport code."""
    return _USER_TEXT.get(code, REFUSED_TEXT)


class ApiError(Exception):
    """A failed crun call: the body's code (or ours), its message, and any Retry-After."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        retry_after_s: float | None = None,
        http_status: int | None = None,
        envelope: bool = False,
    ) -> None:
        super().__init__(f"crun API error {code}: {message}")
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.http_status = http_status
        self.envelope = envelope  # the code came from the API's own {code, message, data} body

    @property
    def proves_nothing_made(self) -> bool:
        """For CreateTask: this answer proves no job was created, so nothing was charged."""
        return self.envelope and self.code in REFUSAL_CODES

    @property
    def transient(self) -> bool:
        """Worth retrying for a free call (TaskInfo); never a reason to resend CreateTask."""
        return self.code in TRANSIENT_CODES

    @property
    def pauses_all(self) -> bool:
        return self.code in PAUSE_CODES

    @property
    def user_text(self) -> str:
        """What a member reads (English; translated where shown). The API's words are logged."""
        return refusal_text(self.code)


class UnconfirmedSubmission(ApiError):
    """CreateTask got no usable answer: the job may exist (and be charged). Never resent."""

    TEXT = N_(
        "The stem service did not confirm the job, so it may have started (and charged) it. "
        "It was not sent again; ask again only if you accept that it may be charged twice."
    )

    @property
    def user_text(self) -> str:
        return self.TEXT
