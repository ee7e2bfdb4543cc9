"""Prints the `make soak` table from the campaign report file."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    print(f"{'campaign':<34} {'cases':>7} {'faults':>7} {'lost':>5} {'dups':>5} {'2x charge':>9}")
    bad = 0
    for r in rows:
        print(f"{r['campaign']:<34} {r['cases']:>7} {r['faults']:>7} {r['lost']:>5} "
              f"{r['duplicates']:>5} {r['double_charges']:>9}")
        bad += r["lost"] + r["duplicates"] + r["double_charges"]
    seeded = [f"{r['campaign']}: {r['seeds']}" for r in rows if r.get("seeds")]
    if seeded:
        print("seeds:", "; ".join(seeded))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
