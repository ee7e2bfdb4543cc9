"""Records of interactions sent to the bot and of what the bot answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import EPHEMERAL, Message, Notifier, User

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback (response) types.
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL}
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}
    ),
}


@dataclass
class Response:
    """One interaction callback the stand-in accepted."""

    type: int
    data: dict[str, Any] | None
    at: float  # by the stand-in's clock

    @property
    def ephemeral(self) -> bool:
        return bool((self.data or {}).get("flags", 0) & EPHEMERAL)

    @property
    def content(self) -> str:
        return str((self.data or {}).get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list((self.data or {}).get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return list((self.data or {}).get("components") or [])


@dataclass
class Interaction:
    """An interaction the stand-in dispatched, with everything the bot did about it."""

    id: int
    token: str
    type: int
    user: User
    guild_id: int | None
    channel_id: int
    created_at: float  # by the stand-in's clock
    payload: dict[str, Any]  # the INTERACTION_CREATE data as dispatched
    notifier: Notifier = field(repr=False)
    source: Message | None = None  # the message whose component was used
    responses: list[Response] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.responses)

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        for response in self.responses:
            if response.type == AUTOCOMPLETE_RESULT:
                return list((response.data or {}).get("choices", []))
        return None

    async def wait_response(self, timeout_s: float = 5) -> Response:
        """The first callback the bot sent (refused callbacks are in `standin.errors`)."""
        return await self.notifier.wait_for(
            lambda: self.responses[0] if self.responses else None,
            timeout_s,
            f"a response to interaction {self.id}",
        )

    async def wait_followup(self, n: int = 1, timeout_s: float = 5) -> Message:
        """The n-th followup that made a new message (filling a deferred original is not one)."""
        return await self.notifier.wait_for(
            lambda: self.followups[n - 1] if len(self.followups) >= n else None,
            timeout_s,
            f"followup #{n} of interaction {self.id}",
        )

    async def wait_original(
        self, predicate: Callable[[Message], bool] = lambda m: True, timeout_s: float = 5
    ) -> Message:
        """The original response once it satisfies `predicate` (e.g. filled, edited)."""
        return await self.notifier.wait_for(
            lambda: self.original if self.original and predicate(self.original) else None,
            timeout_s,
            f"the original response of interaction {self.id} to match",
        )

    async def wait_reply(
        self, predicate: Callable[[Message], bool] = lambda m: True, timeout_s: float = 5
    ) -> Message:
        """The first of the bot's replies (the original, then each followup) matching
        `predicate`: a status posted publicly after a private "thinking…" is a followup."""

        def found() -> Message | None:
            replies = [self.original, *self.followups]
            return next((m for m in replies if m is not None and predicate(m)), None)

        return await self.notifier.wait_for(found, timeout_s, f"a reply to {self.id} to match")

    async def wait_original_edit(
        self, predicate: Callable[[Message], bool] = lambda m: True, timeout_s: float = 5
    ) -> Message:
        """The original response once it has been edited (or filled) and satisfies `predicate`."""
        return await self.wait_original(lambda m: m.edited and predicate(m), timeout_s)
