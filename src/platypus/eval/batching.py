"""`batch_size: auto` (lm-eval's `--batch-size auto`): the largest batch the device has room for.

The rule: the largest power of two, at most `plan.AUTO_BATCH_MAX` (64, lm-eval's own cap), whose
forward pass of batch x the longest context a task sends (`plan.EVAL_CONTEXT` tokens, within the
model's positions) needs, by the plan's estimate (`sizing.eval_memory`: KV cache, the largest
layer's intermediates, full-vocabulary logits and their log-softmax, a dequantised weight), no
more than `plan.AUTO_BATCH_SHARE` (half) of the memory free on the model's device (CUDA:
`torch.cuda.mem_get_info`; CPU and MPS: the host's available memory); never more than the items
of the largest task, and at least 1. Our scorer resolves it with the model loaded (the free
memory is what the weights left); the lm-eval engine before its backend loads the model, so the
weights count too. The scores do not depend on it (padding after a row's tokens cannot change
them), so the number is recorded in results.json (`settings.batch_size`), not keyed.
"""

from __future__ import annotations

import os
from pathlib import Path

from platypus.sizing import AUTO_BATCH_SHARE, EVAL_CONTEXT, GIB, Arch, Hardware, auto_eval_batch

_DTYPES = {"torch.float32": "float32", "torch.bfloat16": "bfloat16", "torch.float16": "float16"}


def free_memory_gb(device: str) -> float:
    """GiB free now on `device` ("cuda", "cuda:1", "cpu", "mps")."""
    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index
        free, _ = torch.cuda.mem_get_info(torch.cuda.current_device() if index is None else index)
        return free / GIB
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.virtual_memory().available / GIB
    except ImportError:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") / GIB


def resolve_batch_size(
    batch_size: int | str,
    arch: Arch,
    policy,
    device: str,
    items: int,
    loaded: bool,
) -> int:
    """The batch size to run with: `batch_size` itself, or for "auto" the module's rule on
    `device` for the model `arch` loaded by `policy` (`platypus.compute.Policy`), `items` the
    largest task's items. `loaded`: the weights already sit in the memory found free."""
    if batch_size != "auto":
        return int(batch_size)
    from platypus.settings import ComputeSettings

    gpu = device.startswith("cuda")
    compute = ComputeSettings(
        dtype=_DTYPES.get(str(policy.dtype), "auto"), quantization=policy.quantization
    )
    free = free_memory_gb(device)
    hw = Hardware(device, 1, free, 0.0, 0.0, gpu=gpu)
    batch = auto_eval_batch(
        arch,
        compute=compute,
        hw=hw,
        length=min(EVAL_CONTEXT, arch.max_positions),
        autocast=policy.autocast is not None,
        budget_gb=AUTO_BATCH_SHARE * free,
        loaded=loaded,
    )
    return max(1, min(batch, items))
