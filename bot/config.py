"""Settings from the environment (and `.env`); every problem reported at once, by name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bot.database_url import DatabaseUrl


class Secret:
    """A string that never shows itself in repr, str or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(Exception):
    """One or more settings are wrong; the message lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field names are the variable names, lower-cased."""

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    crun_api_key: Secret = field(default_factory=lambda: Secret(""))
    crun_api_base: str = "https://api.crun.ai"
    crun_model: str = "suno/vocal-separatio"
    crun_timeout_s: float = 15.0
    database_path: Path = Path("data/stembot.sqlite3")
    database_url: DatabaseUrl | None = None
    poll_min_interval_s: float = 2.0
    poll_max_interval_s: float = 30.0
    api_requests_per_s: float = 5.0
    job_deadline_s: float = 1800.0
    result_ttl_s: float = 14 * 24 * 3600.0
    dev_guild_id: int | None = None
    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    retention_days: int = 30
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None
    lease_s: float = 15.0
    process_name: str | None = None


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a number greater than 0")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a whole number greater than 0")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a port number from 1 to 65535")
    return value


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return raw.rstrip("/")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return raw.lower()

    return parse


def _shard_ids(raw: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError("must be shard numbers separated by commas, e.g. 0,1") from None
    if any(i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise ValueError("must be different shard numbers, 0 or more")
    return ids


_PARSERS: dict[str, Callable[[str], Any]] = {
    "discord_token": Secret,
    "crun_api_key": Secret,
    "crun_api_base": _http_url,
    "crun_model": str,
    "crun_timeout_s": _positive_float,
    "database_path": Path,
    "database_url": DatabaseUrl,
    "poll_min_interval_s": _positive_float,
    "poll_max_interval_s": _positive_float,
    "api_requests_per_s": _positive_float,
    "job_deadline_s": _positive_float,
    "result_ttl_s": _positive_float,
    "dev_guild_id": _positive_int,
    "public_url": _http_url,
    "http_host": str,
    "http_port": _port,
    "log_level": _choice("debug", "info", "warning", "error"),
    "log_format": _choice("text", "json"),
    "retention_days": _positive_int,
    "shard_ids": _shard_ids,
    "shard_count": _positive_int,
    "lease_s": _positive_float,
    "process_name": str,
}
HIDDEN = ("DISCORD_TOKEN", "CRUN_API_KEY", "DATABASE_URL")  # never echoed in an error
SETTING_NAMES = tuple(f.name.upper() for f in fields(Settings))


def read_environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """Real environment variables win over `.env` (python-dotenv, override off)."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(env: Mapping[str, str], *, require: tuple[str, ...] = ()) -> Settings:
    """Build Settings from `env`; raise ConfigError naming every bad or missing variable."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in SETTING_NAMES:
        raw = env.get(name, "").strip()
        if not raw:
            if name in require:
                problems.append(f"{name} is required but not set")
            continue
        try:
            values[name.lower()] = _PARSERS[name.lower()](raw)
        except ValueError as exc:
            shown = "(hidden)" if name in HIDDEN else repr(raw)
            problems.append(f"{name}={shown}: {_reason(exc)}")
    settings = Settings(**values)
    problems += _conflicts(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _conflicts(settings: Settings) -> list[str]:
    """Problems between settings that are each fine alone."""
    problems = []
    if settings.poll_min_interval_s > settings.poll_max_interval_s:
        problems.append("POLL_MIN_INTERVAL_S must not be greater than POLL_MAX_INTERVAL_S")
    if settings.shard_ids is not None:
        if settings.shard_count is None:
            problems.append("SHARD_IDS needs SHARD_COUNT (the total over all processes)")
        elif max(settings.shard_ids) >= settings.shard_count:
            problems.append(f"SHARD_IDS must be below SHARD_COUNT ({settings.shard_count}): "
                            "shards are numbered from 0")
    return problems


def _reason(exc: ValueError) -> str:
    text = str(exc)
    if text.startswith(("invalid literal", "could not convert")):
        return "must be a number"
    return text
