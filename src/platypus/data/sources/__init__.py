"""One loader module per Open-Platypus source, each registered here (its `SOURCE`) in build
order."""

from __future__ import annotations

from platypus.data.sources import (
    airoboros,
    arb,
    guanaco,
    leetcode,
    math,
    openbookqa,
    reclor,
    scibench,
    scienceqa,
    theoremqa,
    tigerbot,
)
from platypus.data.sources.base import Source

# Order = output order; it follows the released Open-Platypus card's source list.
SOURCES: dict[str, Source] = {
    m.SOURCE.spec.name: m.SOURCE
    for m in (
        math, scienceqa, scibench, theoremqa, reclor, arb,
        leetcode, tigerbot, airoboros, guanaco, openbookqa,
    )
}  # fmt: skip

__all__ = ["SOURCES"]
