"""LoRA's dropout on a CPU: torch's dropout distribution from a cheaper random stream.

`torch.nn.Dropout` on a CPU draws one Bernoulli sample per element, and LoRA applies it to the
input of every adapted layer: in a profile of SmolLM2 LoRA training steps (bf16 autocast, the
training benchmark's `--profile`) `aten::bernoulli_` took 12% of the time. Here each 64-bit
number from torch's CPU generator gives three uniform 16-bit numbers (its top 16 bits are not
uniform and go unused), an element is dropped where its number falls under `p` of the 16-bit
range, and the kept ones are scaled by 1 / (1 - p): the same distribution as torch's, with `p`
rounded to a multiple of 1/65,536 (0.05 becomes 0.0500031), deterministic under
`torch.manual_seed`. The mask is kept as booleans for the backward pass, as torch's own
dropout keeps it. `tests/test_dropout.py` checks it against `torch.nn.Dropout`; the step time is
in benchmarks/results/train-cpu-2core.md.
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 1 << 16  # the values of one 16-bit number


def keep_mask(shape: torch.Size, drop_levels: int, device=None) -> torch.Tensor:
    """Booleans of `shape`, each False with probability `drop_levels` / 65,536."""
    n = shape.numel()
    draws = torch.empty((n + 2) // 3, dtype=torch.int64, device=device).random_()
    # random_() fills [0, 2**63): the low three 16-bit words are uniform, read as int16
    words = draws.view(torch.int16).view(-1, 4)[:, :3]
    # compared in place of the strided view: the booleans come out contiguous, no copy
    return (words >= -(LEVELS // 2) + drop_levels).view(-1)[:n].view(shape)


class _MaskedScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, keep, scale):
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return torch.where(keep, x * scale, 0)

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        return torch.where(keep, grad * ctx.scale, 0), None, None


class CpuDropout(nn.Module):
    """Dropout with probability `p` (rounded to 1/65,536) in training mode, identity in eval."""

    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability {p}: 0 or more and under 1")
        self.drop_levels = round(p * LEVELS)
        self.p = self.drop_levels / LEVELS
        self.scale = 1.0 / (1.0 - self.p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_levels == 0:
            return x
        keep = keep_mask(x.shape, self.drop_levels, x.device)
        return _MaskedScale.apply(x, keep, self.scale)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_cpu_dropout(model: nn.Module) -> int:
    """Swap each LoRA layer's `torch.nn.Dropout` (peft's `lora_dropout`) for `CpuDropout` of
    the same probability; returns how many were swapped."""
    swapped = 0
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if not isinstance(drops, nn.ModuleDict):
            continue
        for name, drop in list(drops.items()):
            if type(drop) is nn.Dropout and drop.p > 0:
                drops[name] = CpuDropout(drop.p)
                swapped += 1
    return swapped
