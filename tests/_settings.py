"""The settings factory that tests and benchmarks share: test values, overridable by keyword."""

from __future__ import annotations

from pathlib import Path

from bot.config import Secret, Settings


def make_settings(database: Path, base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "crun_api_key": Secret("test-key-0123456789"),
        "crun_api_base": base_url,
        "database_path": database,
        "poll_min_interval_s": 2.0,
        "poll_max_interval_s": 30.0,
        "api_requests_per_s": 5.0,
        "crun_timeout_s": 0.5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
