"""What a training run checks and decides before its first step: the held-out split, the LoRA
targets and rank against the model, the distributed back end, the warmup."""

from __future__ import annotations

import os
import random

import torch

from platypus.errors import PlatypusError
from platypus.train.config import TrainConfig


def split_validation(records: list, val_size: int, seed: int) -> tuple[list, list]:
    if val_size == 0:
        return records, []
    if val_size * 2 > len(records):
        raise PlatypusError(
            f"val_size {val_size} is more than half of the {len(records)} rows; lower it"
        )
    held = set(random.Random(seed).sample(range(len(records)), val_size))
    train = [r for i, r in enumerate(records) if i not in held]
    return train, [r for i, r in enumerate(records) if i in held]


def check_targets(model, targets: list[str], rank: int | None = None) -> None:
    """The targets are linear layers of the model, and a LoRA rank fits them: above the
    smallest dimension of a targeted layer it adds nothing but memory (1e9 would try to
    allocate hundreds of GB)."""
    layers = [(name.rsplit(".", 1)[-1], m) for name, m in model.named_modules()
              if isinstance(m, torch.nn.Linear)]  # fmt: skip
    linear = sorted({short for short, _ in layers})
    missing = [t for t in targets if t not in linear]
    if missing:
        raise PlatypusError(
            f"lora.target_modules {missing} are not linear layers of this model; "
            f"it has: {', '.join(linear)}"
        )
    if rank is not None:
        smallest = min(min(m.in_features, m.out_features) for s, m in layers if s in targets)
        if rank > smallest:
            raise PlatypusError(
                f"lora.r {rank} is larger than the smallest dimension ({smallest}) of the "
                "targeted layers; lower it"
            )


def check_backend(accelerator) -> None:
    """A sharding back end asked for (accelerate launch with an FSDP or DeepSpeed config sets
    ACCELERATE_USE_FSDP / ACCELERATE_USE_DEEPSPEED) but not applied is an error, not a silent
    replica per process: accelerate runs CPU processes as MULTI_CPU (DDP) whatever is asked."""
    from accelerate.utils import DistributedType

    for var, wanted in (
        ("ACCELERATE_USE_FSDP", DistributedType.FSDP),
        ("ACCELERATE_USE_DEEPSPEED", DistributedType.DEEPSPEED),
    ):
        asked = os.environ.get(var, "false").lower() in {"1", "true"}
        if asked and accelerator.distributed_type != wanted:
            got = accelerator.distributed_type.value
            raise PlatypusError(
                f"{wanted.value} was asked for ({var}=true) but accelerate runs these "
                f"{accelerator.num_processes} process(es) on {accelerator.device.type} as {got}, "
                f"without sharding; {wanted.value} needs GPUs (on CPU use DDP: torchrun or "
                "accelerate launch without an FSDP/DeepSpeed config)"
            )


def warmup_for(config: TrainConfig, total: int) -> int:
    return min(config.warmup_steps, int(config.warmup_max_fraction * total))
