"""What every benchmark reports: figures beside their targets and the reference policy's value."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

QUICK = os.environ.get("STEMBOT_BENCH_QUICK") == "1"  # a smaller run, for trying the harness


@dataclass(frozen=True)
class Figure:
    """One measured number. `reference` is the same figure for the reference policy, if any."""

    name: str
    value: float
    unit: str
    target: str = ""  # e.g. "<= 100 ms"; empty when there is none
    met: bool | None = None  # None when there is no target
    reference: float | None = None
    reference_name: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(figures: list[Figure]) -> str:
    header = f"{'figure':<46} {'value':>12} {'target':<14} {'met':<4} {'vs reference':<28}"
    lines = [header, "-" * len(header)]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "NO")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}x {f.reference_name}"
        lines.append(
            f"{f.name:<46} {f.value:>9.2f} {f.unit:<2} {f.target:<14} {met:<4} {ratio:<28}"
        )
    return "\n".join(lines)
