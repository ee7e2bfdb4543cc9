"""Campaign sizes (modest in `make test`, full in `make soak`) and their one-line reports."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

SOAK = os.environ.get("STEMBOT_SOAK") == "1"
REPORT = os.environ.get("STEMBOT_SOAK_REPORT")


def size(modest: int, full: int) -> int:
    return full if SOAK else modest


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
