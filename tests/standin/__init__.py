"""A loopback Discord stand-in for running the real discord.py client in tests."""

from __future__ import annotations

from .errors import DiscordError, StandinError
from .fixtures import running_bot
from .interaction import Interaction, Response
from .model import Channel, Guild, Message, Refusal, Role, User
from .server import DiscordStandin

__all__ = [
    "Channel",
    "DiscordError",
    "DiscordStandin",
    "Guild",
    "Interaction",
    "Message",
    "Refusal",
    "Response",
    "Role",
    "StandinError",
    "User",
    "running_bot",
]
