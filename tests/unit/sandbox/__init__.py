"""Unit tests of bot/sandbox/: the loopback imitation of the crun API."""
