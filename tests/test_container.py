"""The container's invariants, read from the Dockerfile itself (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IGNORED = (ROOT / ".dockerignore").read_text().split()


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.split(None, 1)[:1] == [name]]


def test_two_stages_and_the_last_runs_as_a_non_root_user() -> None:
    assert len(instructions("FROM")) == 2
    runtime = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    users = [line.split()[1] for line in runtime.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


def test_the_database_lives_on_a_volume() -> None:
    assert instructions("VOLUME") == ["/data"]
    assert "DATABASE_PATH=/data/" in " ".join(instructions("ENV"))


def test_a_healthcheck_asks_healthz() -> None:
    [check] = instructions("HEALTHCHECK")
    assert "/healthz" in check


def test_no_secrets_go_into_a_layer() -> None:
    copied = " ".join(instructions("COPY") + instructions("ADD"))
    assert ".env" not in copied and "COPY . " not in DOCKERFILE
    assert ".env" in IGNORED
    assert not re.search(r"(DISCORD_TOKEN|CRUN_API_KEY)\s*=", DOCKERFILE)
    assert not instructions("ARG") or all("TOKEN" not in a and "KEY" not in a
                                          for a in instructions("ARG"))
