"""The training stage as the pipeline runs it: its adapter, base identity and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.cli_flags import choices, given
from platypus.contract import Stage, Summary
from platypus.train.config import TrainConfig
from platypus.train.identity import base_identity
from platypus.train.run_files import ADAPTER_DIR, read_history


def adapter_in(path: str) -> str:
    """An adapter folder as the CLI takes it: the adapter itself, or a training output folder
    (resolved to its adapter by the folder's manifest)."""
    folder = Path(path)
    found = TrainStage().found_in(folder, "adapter") if folder.is_dir() else None
    return str(found) if found is not None else path


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
    command = ("train",)
    help = "LoRA fine-tuning (the Platypus recipe by default)"
    api_name = "train"
    reads_datasets = True
    loads_models = True
    pushed = ("adapter", "model")
    summary_model = TrainSummary
    reads = {"input": "decontaminate.clean"}
    artefacts = ("adapter",)
    resumable = True

    def add_flags(self, parser) -> None:
        parser.add_argument(
            "--model", help="base model folder or hub id (default: packaged SmolLM2)"
        )
        parser.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
        parser.add_argument("--limit", type=int, help="train on N rows drawn with the seed")
        parser.add_argument("--micro-batch-size", type=int, help="examples per forward pass")
        parser.add_argument("--batching", choices=choices(TrainConfig, "batching"))
        parser.add_argument(
            "--prompt-format",
            choices=["auto", "alpaca", "chat_template"],
            help="alpaca (the Platypus template) or the tokenizer's chat_template (default "
            "auto: chat_template for chat data, else alpaca)",
        )
        parser.add_argument("--seed", type=int)
        parser.add_argument(
            "--no-bf16", action="store_true", help="fp32 compute (default: bf16 autocast)"
        )
        parser.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
        parser.add_argument(
            "--val-size", type=int, help="held-out rows for the validation loss (0: none)"
        )

    def flag_updates(self, args, config: TrainConfig) -> dict:
        updates = given(args, "model", "max_steps", "limit", "micro_batch_size", "batching",
                        "seed", "val_size", "prompt_format")  # fmt: skip
        if args.no_bf16:
            updates["bf16"] = False
        if args.no_resume:
            updates["resume"] = False
        return updates

    def output(self, artefact: str, config: TrainConfig, folder: Path) -> Path:
        return folder / ADAPTER_DIR

    def outside(self, config: TrainConfig, recipe) -> dict:
        return {"base": base_identity(config.model)}

    def run(self, config: TrainConfig, out: Path, recipe) -> TrainSummary:
        from platypus.train.loop import train

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
