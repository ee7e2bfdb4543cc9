"""Unit tests: one file per module of bot/, mirroring its tree."""
