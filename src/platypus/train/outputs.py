"""What a training run writes as it goes and when it ends: warnings, the metrics lines, the
output folder prepared for a (resumed) run, the compute record, summary.json, and the adapter
with its card, base record and prompt format, each moved into place whole (`LoraRecipe` takes
these methods from `RunRecord`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch

from platypus.errors import PlatypusError
from platypus.io.writers import atomic_path, remove_path, write_bytes, write_dict_rows
from platypus.memory import peak_mb
from platypus.model_cards import write_adapter_card
from platypus.train import checkpoint, tracking
from platypus.train.run_files import (
    ADAPTER_DIR,
    BASE_RECORD,
    FINAL_OUTPUTS,
    METRICS,
    SUMMARY,
)
from platypus.train.template import write_prompt_record
from platypus.version import __version__


class RunRecord:
    """Output methods of `LoraRecipe` (they read its config, counters and history)."""

    def warn(self, message: str) -> None:
        if self.main:
            print(f"platypus: warning: {message}", file=sys.stderr)

    def log(self, entry: dict) -> None:
        self.history.append(entry)
        tracking.log(self.accelerator, entry)
        if self.main:
            # O_NOFOLLOW: a metrics file planted as a link elsewhere is refused, not appended to
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
            try:
                fd = os.open(self.out / METRICS, flags, 0o666)
            except OSError as exc:
                raise PlatypusError(
                    f"{self.out / METRICS}: cannot append ({exc.strerror})"
                ) from None
            with os.fdopen(fd, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def begin(self) -> None:
        """Prepare output_dir for a run continuing from `self.start` (0: from scratch): drop
        checkpoints it will not use and the previous run's final outputs, rewrite the metrics
        so far and the config."""
        acc, out = self.accelerator, self.out
        acc.wait_for_everyone()  # every process has read its checkpoint
        if self.main:
            if self.resumed_from is None:
                shutil.rmtree(out / "checkpoints", ignore_errors=True)
            else:
                checkpoint.discard_newer(self.resumed_from)
            for name in FINAL_OUTPUTS:  # summary.json first: it marks a finished run
                remove_path(out / name)
            write_dict_rows(out / METRICS, self.history)
            info = {
                "config": self.config.model_dump(),
                "input": str(self.input_path),
                "input_sha256": self.input_sha256,
                "base_model": self.base_model,
                "base_weights_fingerprint": self.base_weights,
                "prompt": self.prompt,
                "compute": self.compute_record(),
                "version": __version__,
            }
            write_bytes(out / "train_config.json", json.dumps(info, indent=1).encode())
        acc.wait_for_everyone()

    def compute_record(self) -> dict:
        """The resolved compute policy (what `auto` became, the quantisation), the size of the
        loaded model and the dtype of the trained LoRA weights: for train_config.json and
        summary.json."""
        base = self.model.get_base_model()
        return self.policy.describe() | {
            "model_memory_mb": round(base.get_memory_footprint() / 2**20, 1),
            "lora_dtype": sorted({str(p.dtype).removeprefix("torch.") for p in self.params}),
            # what the recipe's `bf16` became on this host
            "autocast": str(self.autocast_dtype).removeprefix("torch.")
            if self.autocast_dtype is not None
            else None,
        }

    def summary(self) -> dict:
        """The run's summary.json (after the last step and `val_end`). All processes."""
        history = self.history
        return {
            "steps": self.total,
            "examples": len(self.examples),
            "validation_examples": len(self.val_examples),
            "rows": self.rows,
            "data_format": self.data_format,  # records, alpaca, messages, ... or "columns"
            "prompt_format": self.prompt_format,  # what `auto` became
            "tokenize": dict(self.counts),
            "processes": self.world,
            "warmup_steps": self.warmup,
            "tokens": self.tokens_seen,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_s": round(self.tokens_seen / max(self.train_seconds, 1e-9), 1),
            "peak_memory_mb": _peak_memory_mb(self.accelerator),
            "compute": self.compute_record(),
            "val_loss_start": self.val_start,
            "val_loss_end": self.val_end,
            "train_loss_last": history[-1]["loss"] if history and "loss" in history[-1] else None,
            "resumed_from_step": self.start or None,
            "config_hash": self.fingerprint,
        }

    def save_outputs(self, summary: dict) -> Path:
        """Main process: the adapter (with the base model's fingerprint), the loss curve, and
        summary.json last, each moved into place whole."""
        from platypus.charts import loss_curve
        from platypus.train.saved_template import save_training_template

        out = self.out
        adapter_dir = out / ADAPTER_DIR
        partial = out / ".adapter.partial"
        remove_path(partial)
        self.model.save_pretrained(partial)
        save_training_template(partial, self.prompt_format, self.tokenizer)  # as trained
        write_adapter_card(partial, self.base_model, self.config, summary)  # the Hub's README.md
        base = {"base_model": self.base_model, "weights_fingerprint": self.base_weights}
        (partial / BASE_RECORD).write_text(json.dumps(base, indent=1) + "\n")
        write_prompt_record(partial, self.prompt)
        remove_path(adapter_dir)
        os.replace(partial, adapter_dir)
        with atomic_path(out / "loss_curve.png") as curve:  # a new file, never a planted link
            loss_curve(self.history, curve)
        write_bytes(out / SUMMARY, (json.dumps(summary, indent=1) + "\n").encode())
        return adapter_dir


def _peak_memory_mb(accelerator) -> dict:
    peak = {"rss": round(peak_mb(), 1)}
    if torch.cuda.is_available():
        peak["cuda"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    values = torch.tensor([peak["rss"]], device=accelerator.device)
    peak["rss_max_process"] = (
        float(accelerator.reduce(values, "max")[0])
        if accelerator.num_processes > 1
        else peak["rss"]
    )
    return peak
