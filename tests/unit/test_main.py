"""`stembot` itself: what the entry point refuses before it opens anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main

PASSWORD = "SENTINEL-PASSWORD-42"


@pytest.mark.parametrize("command", ["jobs", "purge"])
def test_an_unreachable_database_url_is_one_plain_line_without_its_password(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", "discord-token-0123456789")
    monkeypatch.setenv("CRUN_API_KEY", "crun-key-0123456789")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "never.sqlite3"))
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:{PASSWORD}@127.0.0.1:1/stems")
    argv = [command, "--older-than", "1"] if command == "purge" else [command]

    assert main(argv) != 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stembot: ")
    assert PASSWORD not in lines[0]
    assert not (tmp_path / "never.sqlite3").exists()
