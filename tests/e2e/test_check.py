"""`stembot check` passes against the sandbox and the Discord stand-in, and names each failure."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import discord.http
import pytest

from bot.bot import discord_identity
from bot.config import Secret, Settings
from bot.ops import check
from bot.sandbox import Sandbox, serve
from tests._settings import make_settings
from tests.standin import DiscordStandin

KEY = "right-key-0123456789"


@pytest.fixture
async def good(tmp_path: Path) -> AsyncIterator[Settings]:
    async with DiscordStandin() as standin, await serve(Sandbox(api_key=KEY)) as api:
        with standin.patch_discord():
            yield make_settings(tmp_path / "check.sqlite3", api.base_url,
                                crun_api_key=Secret(KEY), discord_token=Secret(standin.token))


async def run(settings: Settings) -> tuple[int, str]:
    out = io.StringIO()
    code = await check(settings, discord_identity, out=out)
    return code, out.getvalue()


async def test_check_passes_and_prints_balance_and_invite(good: Settings) -> None:
    code, text = await run(good)

    assert code == 0, text
    assert "balance 1000 credits" in text
    assert "scope=bot+applications.commands" in text
    assert "all checks passed" in text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"crun_api_key": Secret("wrong-key-999999")}, "CRUN_API_KEY"),
        ({"crun_api_base": "http://127.0.0.1:9"}, "CRUN_API_BASE"),
        ({"discord_token": Secret("not-the-token")}, "DISCORD_TOKEN"),
    ],
)
async def test_check_fails_with_the_setting_named(
    good: Settings, change: dict[str, object], named: str
) -> None:
    code, text = await run(replace(good, **change))  # type: ignore[arg-type]

    assert code == 1
    assert f"FAIL {named}" in text or (named in text and "FAIL" in text)
    assert "1 check(s) failed" in text
    assert "wrong-key-999999" not in text and "not-the-token" not in text


async def test_check_fails_when_the_database_cannot_be_written(
    good: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    code, text = await run(replace(good, database_path=blocker / "db.sqlite3"))

    assert code == 1 and "FAIL DATABASE_PATH" in text


async def test_check_tells_an_unreachable_discord_from_a_rejected_token(
    good: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rejected = (await run(replace(good, discord_token=Secret("not-the-token"))))[1]
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")

    code, text = await run(good)

    assert code == 1
    assert "DISCORD_TOKEN: Discord could not be reached" in text
    assert "did not accept" not in text
    assert "DISCORD_TOKEN: Discord did not accept it" in rejected


async def test_check_tells_an_unreachable_api_from_a_refusal_with_its_words(
    good: Settings,
) -> None:
    unreachable = (await run(replace(good, crun_api_base="http://127.0.0.1:9")))[1]
    refused = (await run(replace(good, crun_api_key=Secret("wrong-key-999999"))))[1]

    assert "the crun API at http://127.0.0.1:9 could not be reached" in unreachable
    assert "refused" not in unreachable
    assert "the API refused the call" in refused and "could not be reached" not in refused
    assert '"invalid api key"' in refused  # the API's own words, next to ours
    assert "wrong-key" not in refused
