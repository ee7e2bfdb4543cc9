"""The two error kinds the edges map to replies: UserError and ApiError."""

from __future__ import annotations


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

_USER_TEXT = {
    401: "The bot's API key is missing or invalid. Please tell a server admin.",
    402: "The API account is out of credits. Please tell a server admin.",
    404: "That task or song was not found.",
    429: "The API is busy right now; please try again in a moment.",
    455: "The separation service is down for maintenance; please try again later.",
    500: "The separation service had a temporary failure; please try again.",
    501: "The separation failed upstream.",
    505: "Stem separation is disabled upstream right now.",
    NO_REPLY: "The separation service did not answer; please try again.",
    BAD_REPLY: "The separation service sent a reply the bot could not read.",
}


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
        """What a Discord user should read. 422 carries the API's own words."""
        if self.code == 422 or self.code not in _USER_TEXT:
            return f"The API refused the request: {self.message}"
        return _USER_TEXT[self.code]


class UnconfirmedSubmission(ApiError):
    """CreateTask got no usable answer: the job may exist (and be charged). Never resent."""

    TEXT = (
        "The separation service did not confirm the request, so it may or may not have started "
        "(and charged) the separation. It was not resent; ask again only if you accept that it "
        "may be charged twice."
    )

    @property
    def user_text(self) -> str:
        return self.TEXT
