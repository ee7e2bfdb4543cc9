"""Without PostgreSQL the tests skip with one line, except where CI requires it."""

from __future__ import annotations

import pytest

from tests._postgres import REQUIRE_ENV, unavailable


def test_missing_postgres_skips_with_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        unavailable("no initdb/pg_ctl found")
    assert str(skipped.value) == "PostgreSQL tests need a local PostgreSQL: no initdb/pg_ctl found"


def test_missing_postgres_fails_where_it_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        unavailable("no initdb/pg_ctl found")
    assert REQUIRE_ENV in str(failed.value)
