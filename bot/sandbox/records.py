"""The sandbox's records: a Suno music task it knows, and a separation it accepted."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.jobs import Mode, RemoteState, parse_remote_state


@dataclass
class SandboxMusicTask:
    music_task_id: str
    songs: list[tuple[str, str]]
    status: str
    model: str
    created_at: float

    @property
    def finished(self) -> bool:
        """Done, under any word that doesn't say pending, running or failed (a reseller's own)."""
        unfinished = (RemoteState.PENDING, RemoteState.RUNNING, RemoteState.FAILED)
        return parse_remote_state(self.status) not in unfinished


@dataclass
class SandboxSeparation:
    """One accepted CreateTask. `stems` maps media_info keys to paths under /files."""

    remote_id: str
    music_task_id: str
    song_id: str
    mode: Mode
    created_at: float
    finish_at: float
    callback_url: str | None
    credits: float
    state: RemoteState = RemoteState.RUNNING
    finished_at: float | None = None
    stems: dict[str, str] = field(default_factory=dict)
    message: str | None = None
