"""Checkpoints that resume exactly: adapter, optimizer, scheduler, per-process RNG and the step.

A checkpoint folder is complete once its `state.json` exists (written last), so a run killed
while saving resumes from the previous complete one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

STATE = "state.json"


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return output_dir / "checkpoints" / f"step-{step:06d}"


def latest(output_dir: Path) -> Path | None:
    done = sorted(p.parent for p in (output_dir / "checkpoints").glob(f"step-*/{STATE}"))
    return done[-1] if done else None


def save_rng(folder: Path, rank: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"torch": torch.get_rng_state()}, folder / f"rng-{rank}.pt")


def save(folder: Path, adapter: dict, optimizer, scheduler, state: dict) -> None:
    """Main process only, after every process has called `save_rng`."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in adapter.items()},
              folder / "adapter.safetensors")  # fmt: skip
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    torch.save(scheduler.state_dict(), folder / "scheduler.pt")
    (folder / STATE).write_text(json.dumps(state, indent=1))
    # Older complete checkpoints are superseded.
    for old in (folder.parent).glob("step-*"):
        if old != folder and old.name < folder.name:
            shutil.rmtree(old, ignore_errors=True)


def load(folder: Path, rank: int):
    """(adapter tensors, optimizer state, scheduler state, state dict); restores this
    process's RNG."""
    rng = folder / f"rng-{rank}.pt"
    if rng.is_file():
        torch.set_rng_state(torch.load(rng)["torch"])
    return (
        load_file(folder / "adapter.safetensors"),
        torch.load(folder / "optimizer.pt", weights_only=False),
        torch.load(folder / "scheduler.pt", weights_only=False),
        json.loads((folder / STATE).read_text()),
    )
