"""One loader module per Open-Platypus source, registered in build order."""

from __future__ import annotations

from types import ModuleType

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

# Order = output order; it follows the released Open-Platypus card's source list.
SOURCES: dict[str, ModuleType] = {
    m.SPEC.name: m
    for m in (
        math, scienceqa, scibench, theoremqa, reclor, arb,
        leetcode, tigerbot, airoboros, guanaco, openbookqa,
    )
}  # fmt: skip

__all__ = ["SOURCES"]
