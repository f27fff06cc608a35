"""One scored item, as every task's scorer returns it; how a score is written for a reader."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class ItemResult:
    id: str
    lls: list[float]
    metrics: dict[str, float]
    extra_lls: list[float] = field(default_factory=list)  # TruthfulQA: the mc2 choices
    text: str | None = None  # generative tasks: the model's completion


def percent(value: float | None) -> str:
    """A score (a fraction, as results.json holds it) as a percentage with its sign: one
    decimal, or two significant digits of its distance from 0 or 100 where that is under 1,
    so a small score is not rounded to a misleading number (0.00136 -> "0.14%", not "0.1";
    0.9996 -> "99.960%", not "100.0%"). None (or NaN: no score): empty."""
    if value is None or math.isnan(value):
        return ""
    x = 100 * value
    gap = min(abs(x), abs(100 - x))
    digits = 1 if gap == 0 or gap >= 1 else min(10, 1 - math.floor(math.log10(gap)))
    return f"{x:.{digits}f}%"
