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


def test_database_url_is_parsed_and_its_password_never_shown() -> None:
    raw = "postgresql://stembot:SENTINEL-PASSWORD-42@db.internal:5433/stems"
    settings = load_settings({"DATABASE_URL": raw})

    url = settings.database_url
    assert url is not None and url.reveal() == raw
    assert (url.user, url.host, url.port, url.database) == ("stembot", "db.internal", 5433, "stems")
    assert str(url) == "postgresql://stembot:********@db.internal:5433/stems"
    assert "SENTINEL-PASSWORD-42" not in repr(settings)


def test_database_url_on_a_unix_socket_names_the_folder() -> None:
    url = load_settings({"DATABASE_URL": "postgresql://bot@/stems?host=/run/pg"}).database_url

    assert url is not None and url.host == "/run/pg"
    assert str(url) == "postgresql://bot@/stems?host=/run/pg"


@pytest.mark.parametrize("raw", [
    "mysql://bot:SENTINEL-PASSWORD-42@db/stems",
    "postgresql://bot:SENTINEL-PASSWORD-42@db",
    "postgresql://bot:SENTINEL-PASSWORD-42@db:99999/stems",
    "postgresql:///stems",
])
def test_a_bad_database_url_is_refused_without_echoing_it(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": raw})

    assert caught.value.problems[0].startswith("DATABASE_URL=(hidden): ")
    assert "SENTINEL-PASSWORD-42" not in str(caught.value)


def test_without_shard_settings_one_process_runs_every_shard() -> None:
    settings = load_settings({})

    assert (settings.shard_ids, settings.shard_count) == (None, None)
    assert settings.lease_s == 15.0
    assert settings.database_url is None


def test_shard_ids_are_read_against_the_shard_count() -> None:
    settings = load_settings({"SHARD_IDS": "0, 2", "SHARD_COUNT": "3"})

    assert (settings.shard_ids, settings.shard_count) == ((0, 2), 3)


@pytest.mark.parametrize(("env", "problem"), [
    ({"SHARD_IDS": "0,1"}, "SHARD_IDS needs SHARD_COUNT"),
    ({"SHARD_IDS": "0,2", "SHARD_COUNT": "2"}, "SHARD_IDS must be below SHARD_COUNT (2)"),
    ({"SHARD_IDS": "1,1", "SHARD_COUNT": "2"}, "SHARD_IDS='1,1': must be different"),
    ({"SHARD_IDS": "one", "SHARD_COUNT": "2"}, "SHARD_IDS='one': must be shard numbers"),
    ({"SHARD_COUNT": "0"}, "SHARD_COUNT='0': must be a whole number greater than 0"),
    ({"LEASE_S": "0"}, "LEASE_S='0': must be a number greater than 0"),
])
def test_bad_shard_and_lease_settings_are_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)

    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
