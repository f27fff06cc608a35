"""The training stage as the pipeline runs it: its adapter, base identity and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.contract import Stage, Summary
from platypus.train.config import TrainConfig


def base_weights(model: str | None) -> str:
    """A model's identity: the hashes of its weights and of the other files its load reads
    when local, else its hub id (the same value training checks its checkpoints against)."""
    from platypus.train.recipe import base_identity

    return base_identity(model)


class TrainSummary(Summary):
    steps: int
    examples: int
    rows: int
    validation_examples: int
    processes: int
    warmup_steps: int
    tokens: int
    tokens_per_s: float
    peak_rss_mb: float
    val_loss_start: float | None
    val_loss_end: float | None
    settings: dict  # the hyper-parameters the report names
    history: list[dict]  # metrics.jsonl: the loss curves

    def counts(self) -> dict[str, int | float]:
        keys = ("steps", "examples", "tokens_per_s", "val_loss_start", "val_loss_end")
        return {k: v for k, v in self.model_dump(include=set(keys)).items() if v is not None}


class TrainStage(Stage):
    name = "train"
    section = "train"
    config_model = TrainConfig
    summary_model = TrainSummary
    reads = {"input": "decontaminate.clean"}
    artefacts = ("adapter",)
    resumable = True

    def output(self, artefact: str, config: TrainConfig, folder: Path) -> Path:
        from platypus.train.loop import ADAPTER_DIR

        return folder / ADAPTER_DIR

    def outside(self, config: TrainConfig, recipe) -> dict:
        return {"base": base_weights(config.model)}

    def run(self, config: TrainConfig, out: Path, recipe) -> TrainSummary:
        from platypus.train.loop import read_history, train

        result = train(config, config.input, out)
        s = result.summary
        return TrainSummary(
            steps=s["steps"],
            examples=s["examples"],
            rows=s["rows"],
            validation_examples=s["validation_examples"],
            processes=s["processes"],
            warmup_steps=s["warmup_steps"],
            tokens=s["tokens"],
            tokens_per_s=s["tokens_per_s"],
            peak_rss_mb=s["peak_memory_mb"]["rss"],
            val_loss_start=s["val_loss_start"],
            val_loss_end=s["val_loss_end"],
            settings=config.model_dump(
                include={"lora", "learning_rate", "lr_scheduler", "global_batch_size"}
            ),
            history=read_history(out),
        )

    def describe(self, summary: TrainSummary, config: BaseModel, out: Path) -> list[str]:
        val = ""
        if summary.val_loss_start is not None:
            val = f", held-out loss {summary.val_loss_start:.4f} -> {summary.val_loss_end:.4f}"
        plural = "es" if summary.processes > 1 else ""
        return [
            f"trained {summary.steps} step{'s' if summary.steps != 1 else ''} on "
            f"{summary.examples:,} examples "
            f"({summary.processes} process{plural}){val}; {summary.tokens_per_s:,.0f} tokens/s, "
            f"peak RSS {summary.peak_rss_mb:,.0f} MB -> {self.output('adapter', config, out)}"
        ]
