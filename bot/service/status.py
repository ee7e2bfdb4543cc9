"""Public status messages, remembered across restarts until each one shows its job's end."""

from __future__ import annotations

import logging

from bot.store import Store
from bot.store.errors import StatusMessage
from bot.store.turns import for_a_member

log = logging.getLogger(__name__)

__all__ = ["PublicStatuses", "StatusMessage"]


class PublicStatuses:
    """The status board's door to the store (mixed into FollowUp): what to watch again after
    a restart, and which messages already show their job's final state."""

    _store: Store

    @for_a_member
    async def remember_status(
        self, job_id: int, user_id: int | None, *, channel_id: int, message_id: int
    ) -> None:
        """The status message posted for this member's request: kept true after a restart."""
        try:
            await self._store.set_status_message(
                job_id, user_id, channel_id=channel_id, message_id=message_id
            )
        except Exception:  # the message is still watched by this process; only a restart loses it
            log.warning("job %d: status message %d not remembered", job_id, message_id,
                        exc_info=True)

    async def statuses_to_restore(self) -> list[StatusMessage]:
        """Every remembered status message whose job's final state is not shown in it yet."""
        return await self._store.status_messages()

    async def status_shown_final(self, job_id: int, message_id: int) -> None:
        """The job's end is in the message: the next start leaves it alone (no edit storm)."""
        try:
            await self._store.status_shown_final(job_id, message_id=message_id)
        except Exception:  # the next start edits the same final state in once more
            log.warning("job %d: status message %d not marked final", job_id, message_id,
                        exc_info=True)
