"""Settings: every problem reported at once by name; secrets never shown; .env never overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import SETTING_NAMES, ConfigError, Secret, load_settings, read_environment

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_documented_values() -> None:
    settings = load_settings({})
    assert settings.crun_api_base == "https://api.crun.ai"
    assert settings.crun_model == "suno/vocal-separatio"
    assert settings.database_path == Path("data/stembot.sqlite3")
    assert (settings.poll_min_interval_s, settings.poll_max_interval_s) == (2.0, 30.0)
    assert settings.api_requests_per_s == 5.0
    assert settings.job_deadline_s == 1800.0
    assert settings.result_ttl_s == 14 * 24 * 3600


def test_every_bad_value_is_reported_at_once_by_name() -> None:
    env = {
        "POLL_MIN_INTERVAL_S": "soon",
        "API_REQUESTS_PER_S": "0",
        "CRUN_API_BASE": "ftp://example.org",
        "DEV_GUILD_ID": "-4",
        "LOG_LEVEL": "loud",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(env, require=("DISCORD_TOKEN", "CRUN_API_KEY"))

    text = str(caught.value)
    for name in (*env, "DISCORD_TOKEN", "CRUN_API_KEY"):
        assert name in text
    assert len(caught.value.problems) == 7


def test_min_interval_above_max_is_refused() -> None:
    with pytest.raises(ConfigError, match="POLL_MIN_INTERVAL_S"):
        load_settings({"POLL_MIN_INTERVAL_S": "40", "POLL_MAX_INTERVAL_S": "30"})


def test_secrets_never_appear_in_repr_or_errors() -> None:
    token, key = "SENTINEL-TOKEN-0123456789", "SENTINEL-KEY-9876543210"
    settings = load_settings({"DISCORD_TOKEN": token, "CRUN_API_KEY": key})

    assert token not in repr(settings) and key not in repr(settings)
    assert token not in str(settings.discord_token)
    assert settings.discord_token.reveal() == token
    assert Secret("x") == Secret("x") and Secret("x") != Secret("y")


def test_dotenv_fills_gaps_but_real_variables_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CRUN_MODEL=from-dotenv\nJOB_DEADLINE_S=99\n")
    monkeypatch.setenv("JOB_DEADLINE_S", "1234")

    settings = load_settings(read_environment(env_file))

    assert settings.crun_model == "from-dotenv"
    assert settings.job_deadline_s == 1234.0


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)

    assert sorted(listed) == sorted(SETTING_NAMES)
    load_settings(dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE)))


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE)

    assert sorted(table) == sorted(SETTING_NAMES)
