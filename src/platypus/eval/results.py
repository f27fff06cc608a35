"""One scored item, as every task's scorer returns it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ItemResult:
    id: str
    lls: list[float]
    metrics: dict[str, float]
    extra_lls: list[float] = field(default_factory=list)  # TruthfulQA: the mc2 choices
    text: str | None = None  # generative tasks: the model's completion
