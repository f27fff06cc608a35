"""`platypus train`: the public entry point; the run itself is `recipe.LoraRecipe`."""

from __future__ import annotations

from pathlib import Path

from platypus.train.config import TrainConfig
from platypus.train.recipe import (
    ADAPTER_DIR,
    LoraRecipe,
    TrainResult,
    check_targets,
    config_hash,
    read_history,
    split_validation,
    warmup_for,
)

__all__ = [
    "ADAPTER_DIR",
    "LoraRecipe",
    "TrainResult",
    "check_targets",
    "config_hash",
    "read_history",
    "split_validation",
    "train",
    "warmup_for",
]


def train(
    config: TrainConfig, input_path: str | Path, output_dir: str | Path | None = None
) -> TrainResult:
    """Fine-tune `config.model` with LoRA on the records at `input_path`; `output_dir`, when
    given, replaces `config.output_dir`. Resumes from the newest checkpoint of the same run
    unless `config.resume` is false."""
    return LoraRecipe(config, input_path, output_dir).train()
