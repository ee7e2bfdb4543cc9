"""Tests for stembot."""
