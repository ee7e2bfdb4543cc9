"""End-to-end tests: the real discord.py client against the Discord stand-in."""
