"""Unit tests of bot/api/: the client, the wire and TaskInfo parsing."""
