"""Campaign sizes (modest in `make test`, full in `make soak`) and their one-line reports."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bot.sandbox import Fault, Sandbox

SOAK = os.environ.get("STEMBOT_SOAK") == "1"
REPORT = os.environ.get("STEMBOT_SOAK_REPORT")


def size(modest: int, full: int) -> int:
    return full if SOAK else modest


def guarantee_mix(sandbox: Sandbox, endpoint: str, faults: Sequence[Fault]) -> None:
    """Send one of each fault first, then whatever the seeded draw picks.

    A campaign that asserts which faults it sent must not leave that to chance: a seed whose
    draw misses one kind (109595 drew no "malformed") would fail for no fault of the bot.
    """
    sandbox.inject(endpoint, *faults)


@dataclass(frozen=True)
class CampaignReport:
    campaign: str
    cases: int
    faults: int
    lost: int
    duplicates: int
    double_charges: int
    seeds: str = ""


def report(row: CampaignReport) -> None:
    """Print the row (visible with -s) and append it to the soak report file, if any."""
    print(f"\n[campaign] {json.dumps(asdict(row))}")
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(row)) + "\n")
