"""The recipe's checkpoints: everything needed to continue exactly after a step, saved by all
processes and restored from the newest usable checkpoint of the same run (`LoraRecipe` takes
these methods from `Resumable`)."""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError

from platypus.errors import PlatypusError
from platypus.train import checkpoint
from platypus.train.run_files import METRICS, read_metrics

# What loading a checkpoint whose files match their hashes can still raise (a crafted folder).
_UNREADABLE = (checkpoint.CheckpointError, SafetensorError, ValueError, KeyError, TypeError)


class Resumable:
    """Checkpoint methods of `LoraRecipe` (they read its model, optimizer, schedule and
    counters)."""

    def save_checkpoint(self, step: int) -> Path:
        """Everything needed to continue exactly after `step` optimizer steps. All processes."""
        from peft import get_peft_model_state_dict

        acc = self.accelerator
        folder = checkpoint.checkpoint_dir(self.out, step)
        acc.wait_for_everyone()
        if self.main:
            checkpoint.clear(folder)
        acc.wait_for_everyone()
        checkpoint.save_rng(folder, self.rank)
        acc.wait_for_everyone()
        if self.main:
            state = {
                "step": step,
                "config_hash": self.fingerprint,
                "tokens": self.tokens_seen,
                "train_seconds": self.train_seconds,
                "val_loss_start": self.val_start,
            }
            checkpoint.save(
                folder,
                get_peft_model_state_dict(self.model),
                self.optimizer.state_dict(),
                self.scheduler.state_dict(),
                state,
            )
        acc.wait_for_everyone()
        return folder

    def load_checkpoint(self) -> int:
        """Restore the newest usable checkpoint of this run in output_dir (adapter, optimizer,
        schedule, RNG, counters, metrics so far); the step to continue from, 0 if none. Newer
        unusable checkpoints are skipped with a warning; one of a different run is an error."""
        from peft import set_peft_model_state_dict

        found, skipped = checkpoint.find(self.out, self.fingerprint, self.total)
        for line in skipped:
            self.warn(f"{line}; trying an older checkpoint")
        if found is None:
            if skipped:
                self.warn("no usable checkpoint; starting over")
            return 0
        try:  # the files match their hashes: a failure here means a crafted or foreign folder
            loaded = checkpoint.load(found, self.rank)
            set_peft_model_state_dict(self.model, loaded.adapter)
            self.optimizer.load_state_dict(loaded.optimizer)
            self.scheduler.load_state_dict(loaded.scheduler)
        except _UNREADABLE as exc:
            raise PlatypusError(f"{found.folder}: unreadable checkpoint ({exc})") from None
        state = found.state
        self.resumed_from = found
        self.start = state["step"]
        self.tokens_seen = state.get("tokens", 0)
        self.train_seconds = state.get("train_seconds", 0.0)
        self.val_start = state.get("val_loss_start")
        self.history, warning = read_metrics(self.out / METRICS, self.start)
        if warning:
            self.warn(warning)
        return self.start
