"""Slash-command cogs: thin Discord edges over the engine."""
