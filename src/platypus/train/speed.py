"""The training speed switches for GPUs, each a library's own mechanism behind one recipe key.

- `liger: true`: Liger Kernel's Triton kernels patched into the model (RMSNorm, SwiGLU, RoPE,
  through `liger_kernel.transformers._apply_liger_kernel_to_instance`) and its fused linear
  cross-entropy on the response positions (`ResponseLoss(head_loss=...)`): the LM head and the
  loss run chunk by chunk, so (tokens x vocabulary) logits are never held.
- `activation_offloading: true`: the tensors the backward pass needs are kept in pinned CPU
  memory while the forward runs (`torch.autograd.graph.save_on_cpu`) and copied back for the
  backward: less GPU memory for the copies' time.
- `compile: true`: `torch.compile` of the loss module (inductor; on a CPU too).
- padding-free packing is `batching: packed`: examples back to back in one row with positions
  restarting at 0 and no attention mask, which transformers turns into variable-length
  attention (flash_attention_2) or a block-diagonal mask (sdpa, eager); no cross-example
  attention (`tests/test_train.py::test_packing_has_no_cross_example_attention`).

Each switch is refused in one line where its library or device is missing, before the model
is loaded. Liger's RoPE and its patches of a model type's module functions hold for the whole
process (that is how the library applies them): a process that trained with it stays patched.
"""

from __future__ import annotations

import importlib.util
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from platypus.errors import PlatypusError

# Configs whose model forward changes the LM head's output before the loss in a way the fused
# loss cannot reproduce (Cohere's logit_scale, Granite's logits_scaling). Gemma2's soft-capping
# is passed to Liger's loss as its `softcap`.
_UNFUSABLE_LOGIT_SCALES = ("logit_scale", "logits_scaling")


def check_switches(config, device: str) -> None:
    """Refuse, in one line, a switch whose library or device is missing (`device`: the one the
    run resolved to)."""
    if config.liger:
        if importlib.util.find_spec("liger_kernel") is None:
            raise PlatypusError(
                "liger: true needs the liger-kernel package (pip install liger-kernel)"
            )
        if device != "cuda":
            raise PlatypusError(
                f"liger: true needs a CUDA device (Liger's kernels are Triton GPU kernels); "
                f"this run is on {device}"
            )
    if config.activation_offloading and device != "cuda":
        raise PlatypusError(
            f"activation_offloading: true moves activations from a GPU to CPU memory; "
            f"this run is on {device}, where there is nothing to offload"
        )


def apply_liger(model) -> None:
    """Patch Liger's RMSNorm, SwiGLU and RoPE kernels into `model` (a transformers causal LM,
    before or after peft wraps its linear layers: the patched MLP calls them as modules). The
    cross-entropy patches are left off: ResponseLoss computes the loss itself."""
    from liger_kernel.transformers.monkey_patch import (
        MODEL_TYPE_TO_APPLY_LIGER_FN,
        _apply_liger_kernel_to_instance,
    )

    model_type = model.config.model_type
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        known = ", ".join(sorted(MODEL_TYPE_TO_APPLY_LIGER_FN))
        raise PlatypusError(
            f"liger: true: Liger Kernel has no kernels for model type {model_type!r} "
            f"(it has: {known}); set liger: false"
        )
    _apply_liger_kernel_to_instance(
        model=model,
        rope=True,
        rms_norm=True,
        swiglu=True,
        cross_entropy=False,
        fused_linear_cross_entropy=False,
    )


def fused_head_loss(model):
    """Liger's fused linear cross-entropy, summed, with the model's logit soft-capping: the
    `head_loss` ResponseLoss calls as (head weight, hidden states, targets, head bias)."""
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    return LigerFusedLinearCrossEntropyLoss(reduction="sum", softcap=check_fusable(model))


def check_fusable(model) -> float | None:
    """The model's final-logit soft-cap (None without one); refuses a model whose forward
    scales its logits in a way a fused head loss would skip."""
    config = model.config
    for name in _UNFUSABLE_LOGIT_SCALES:
        if getattr(config, name, None) not in (None, 1, 1.0):
            raise PlatypusError(
                f"liger: true: this model's forward scales its logits ({name}="
                f"{getattr(config, name)}), which the fused loss would skip; set liger: false"
            )
    return getattr(config, "final_logit_softcapping", None)


def linear_cross_entropy(weight, hidden, targets, bias=None, softcap: float | None = None):
    """What the fused loss computes, in plain torch (logits held whole): the reference the
    fused path is tested against, and the CPU stand-in in the tests of ResponseLoss's
    hidden-state path."""
    logits = F.linear(hidden, weight, bias).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits, targets, reduction="sum")


def offloading_context(enabled: bool):
    """The context the forward runs in: activations saved for the backward go to pinned CPU
    memory when `enabled`."""
    if not enabled:
        return nullcontext()
    return torch.autograd.graph.save_on_cpu(pin_memory=True)
