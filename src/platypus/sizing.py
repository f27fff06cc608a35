"""The arithmetic under `platypus plan` and `eval.batch_size: auto`: a model's architecture
(`platypus.architectures`), a hardware table, and memory and FLOPs by precision. Sizes are
GiB (2**30 bytes), written "GB" as the hardware names do.

Memory per device (training):
- weights: parameters x bytes of the load dtype; 8-bit: 1 byte + row scales; 4-bit (NF4):
  0.5 byte + one fp32 absmax per 64 weights, for the decoder's linear layers (embeddings, norms
  and the LM head stay in the load dtype).
- LoRA: r x (in + out) per targeted linear layer; fp32 weight + gradient + AdamW's two moments
  = 16 bytes per LoRA parameter.
- activations kept for the backward pass, per token and layer, counted tensor by tensor for the
  Llama layer as transformers and PEFT run it (SDPA attention, so no length^2 term; see
  `layer_activation_bytes`), for micro_batch x max_length tokens (every row at full length and
  every position a loss position: the worst micro-batch). Gradient checkpointing keeps only each
  layer's input plus one layer recomputed during the backward pass.
- the loss: logits only at loss positions, fp32, with log-softmax and gradients (4 x vocab x 4
  bytes per position, plus a cast copy under bf16).
- runtime: the process before any model (CPU: 0.45 GB, measured after importing torch,
  transformers and peft; GPU: 1 GB for the CUDA context and allocator slack).
- CPU training only: what the C heap holds beyond the live tensors, 0.4 x (activations +
  logits), with freed pages handed back after each micro-batch (`CPU_HEAP_FACTOR`).

Time: FLOPs / (devices computing at once x peak x utilisation).
- training: 2N per token forward, 2N backward through the activations (a frozen base needs no
  weight gradients, but the backward still runs through every layer), 2N more to recompute
  with gradient checkpointing: 4NT without, 6NT with (a full fine-tune is 6NT, or 8NT with
  checkpointing: LoRA costs about 2/3 of it). N excludes the input embedding (a lookup).
  Attention adds 2 x layers x length x hidden per token forward (causal), 2x that backward.
- eval: 2N per token forwarded.
- utilisation: 40% of bf16 peak on GPUs (A100 312 TFLOP/s, H100 989 TFLOP/s dense); 8-bit
  weights (LLM.int8, outlier decomposition) run at half that, 4-bit (NF4 dequantised per
  matmul) at 3/4. CPU: a matrix-multiply probe of this machine (or `cpu_tflops`) at 50%.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# (architectures live in platypus.architectures; their names are imported from here too)
from platypus.architectures import BUILTIN_ARCHS, Arch, arch_from_config, resolve_arch  # noqa: F401
from platypus.errors import PlatypusError
from platypus.settings import ComputeSettings

GIB = 2**30
CPU_RUNTIME_GB = 0.45
GPU_RUNTIME_GB = 1.0
EVAL_CONTEXT = 2048  # longest few-shot prompts (ARC 25-shot) in Llama tokens, about
# `eval.batch_size: auto`: at most this many rows a batch (lm-eval's own cap for `auto`), in
# this share of the memory free on the device (the rest: fragmentation, other processes).
AUTO_BATCH_MAX = 64
AUTO_BATCH_SHARE = 0.5


@dataclass(frozen=True)
class Hardware:
    name: str
    devices: int
    memory_gb: float  # per device, as the framework sees it
    tflops: float  # dense bf16 peak per device (CPU: measured)
    utilisation: float
    gpu: bool = True


HARDWARE = {
    "1xA100-80GB": Hardware("1xA100-80GB", 1, 79.2, 312.0, 0.40),
    "4xA100-80GB": Hardware("4xA100-80GB", 4, 79.2, 312.0, 0.40),
    "1xH100-80GB": Hardware("1xH100-80GB", 1, 79.2, 989.0, 0.40),
}
CPU_UTILISATION = 0.5
# CPU training: what the C heap holds beyond the live tensors within a micro-batch, as a share of
# its activations and logits, with the trainer handing freed pages back after each micro-batch
# (platypus.memory.release_free_memory). Fitted on the four training rows of benchmarks/plan.py
# (SmolLM2 and a ~1.1B Llama, fp32 and 4-bit weights; the balanced fit is 0.41, errors within
# 14% either way), so those rows check the other terms, not this one.
CPU_HEAP_FACTOR = 0.4
QUANT_SPEED = {"none": 1.0, "8bit": 0.5, "4bit": 0.75}


def probe_cpu_tflops(bf16: bool = True, size: int = 1024, seconds: float = 0.5) -> float:
    """Matrix-multiply TFLOP/s of this CPU (the precision training computes in)."""
    import torch

    dtype = torch.bfloat16 if bf16 else torch.float32
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return 2 * size**3 * n / (time.perf_counter() - t0) / 1e12


def cpu_memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / GIB


def train_autocast(train, gpu: bool) -> bool:
    """Whether training (a TrainConfig) autocasts to bf16: `bf16: auto` on a CPU with `auto`
    weights follows this host's probe (platypus.compute), as the training run will."""
    if train.bf16 != "auto":
        return train.bf16
    return _bf16_where_allowed(train.compute, gpu)


def eval_autocast(e, gpu: bool) -> bool:
    """Whether the eval autocasts to bf16, as `eval.run.compute_policy` resolves it: `bf16`
    allows it, and on a CPU with `auto` full-precision weights this host's probe decides."""
    return bool(e.bf16) and _bf16_where_allowed(e.compute, gpu)


def _bf16_where_allowed(compute: ComputeSettings, gpu: bool) -> bool:
    """bf16 allowed: taken on a GPU or with weights chosen explicitly; on a CPU with `auto`
    full-precision weights only where this host's probe finds bf16 faster."""
    if gpu or compute.dtype != "auto" or compute.quantization != "none":
        return True
    from platypus.compute import BF16_MIN_SPEEDUP, cpu_probe

    return cpu_probe()["speedup"] >= BF16_MIN_SPEEDUP


def hardware(name: str, cpu_tflops: float | None = None, bf16: bool = True) -> Hardware:
    if name == "cpu":
        tflops = cpu_tflops if cpu_tflops is not None else probe_cpu_tflops(bf16)
        return Hardware("cpu", 1, cpu_memory_gb(), tflops, CPU_UTILISATION, gpu=False)
    if name not in HARDWARE:
        raise PlatypusError(f"hardware {name!r}: one of {', '.join([*HARDWARE, 'cpu'])}")
    return HARDWARE[name]


# Precision -------------------------------------------------------------------------------------


def weight_dtype_bytes(compute: ComputeSettings, hw: Hardware) -> int:
    """Bytes per weight of the load dtype: `auto` is bf16 on a GPU and fp32 on a CPU."""
    if compute.dtype == "auto":
        return 2 if hw.gpu else 4
    return 4 if compute.dtype == "float32" else 2


def weight_bytes(arch: Arch, compute: ComputeSettings, hw: Hardware) -> float:
    e = weight_dtype_bytes(compute, hw)
    linear = arch.layers * arch.layer_linear_params
    rest = arch.params - linear
    per_linear = {"none": e, "8bit": 1.0, "4bit": 0.5 + 4 / 64}[compute.quantization]
    row_scales = 4 * arch.layers * sum(o for _, o in arch.linear_shapes().values())
    extra = row_scales if compute.quantization == "8bit" else 0
    return linear * per_linear + rest * e + extra


def layer_activation_bytes(
    arch: Arch, regime: str, lora_targets: list[str], lora_dropout: float
) -> float:
    """Bytes one decoder layer keeps for the backward pass, per token.

    regime: "fp32" (fp32 weights, no autocast), "autocast" (fp32 weights, bf16 autocast) or
    "half" (bf16/fp16 weights). Counted tensor by tensor:
    - each RMSNorm keeps its input in fp32 and its output (the next linear layers' input);
    - attention keeps q and k after RoPE, v, the SDPA output and its contiguous copy (o_proj's
      input);
    - the SwiGLU MLP keeps gate and up outputs, silu(gate) and their product (down's input);
    - under autocast every linear layer keeps its own bf16 copy of an fp32 input;
    - LoRA with dropout keeps, per targeted layer, the dropped input (the dtype lora_A computes
      in) and a one-byte mask.
    """
    h, kv, i, q = arch.hidden, arch.kv_dim, arch.intermediate, arch.q_dim
    if regime == "fp32":
        base = 4 * (2 * h + 2 * h) + 4 * (2 * q + 2 * kv + q) + 4 * 4 * i
        lora_e = 4
    elif regime == "autocast":
        # norms keep fp32 inputs; q/k/v and gate/up each cast the fp32 norm output to bf16
        base = 4 * 2 * h + 2 * 5 * h + 2 * (2 * q + 2 * kv + q) + 2 * 4 * i
        lora_e = 2
    else:
        base = (4 + 2) * 2 * h + 2 * (2 * q + 2 * kv + q) + 2 * 4 * i
        lora_e = 2
    lora = 0.0
    if lora_dropout > 0:
        shapes = arch.linear_shapes()
        lora = sum((lora_e + 1) * shapes[t][0] for t in lora_targets if t in shapes)
    return base + lora


def _regime(weight_e: int, autocast: bool) -> str:
    if weight_e == 2:
        return "half"
    return "autocast" if autocast else "fp32"


def gb(x: float) -> float:
    return x / GIB


def train_memory(
    arch: Arch,
    *,
    compute: ComputeSettings,
    hw: Hardware,
    micro_batch: int,
    length: int,
    autocast: bool,
    checkpointing: bool,
    lora_r: int,
    lora_targets: list[str],
    lora_dropout: float,
    shards: int = 1,
    attn_eager: bool = False,
    liger: bool = False,
    offloading: bool = False,
) -> dict[str, float]:
    """GB per device by component; `shards`: devices the weights are split over. `liger`: the
    fused linear cross-entropy holds logits for a chunk of about tokens x hidden / vocabulary
    rows at a time, not for every token; `offloading`: the saved activations wait in CPU
    memory, one layer's on the device (GPU only)."""
    e = weight_dtype_bytes(compute, hw)
    if compute.quantization != "none" and e == 4 and autocast:
        regime = "autocast"
    else:
        regime = _regime(e, autocast)
    tokens = micro_batch * length
    per_layer = layer_activation_bytes(arch, regime, lora_targets, lora_dropout)
    if attn_eager:  # scores and softmax of every head kept: length^2 per row
        per_layer += 2 * (2 if regime != "fp32" else 4) * arch.heads * length
    act_e = 2 if regime != "fp32" else 4
    residual_e = 2 if regime == "half" else 4
    if checkpointing:
        acts = arch.layers * residual_e * arch.hidden * tokens + per_layer * tokens
    else:
        acts = arch.layers * per_layer * tokens
    if offloading and hw.gpu:
        acts = per_layer * tokens
    acts += 2 * residual_e * arch.hidden * tokens  # gradient flowing back, one spare buffer
    loss = tokens * arch.vocab * (16 + (2 + 4 if act_e == 2 else 0))
    if liger:  # a chunk's fp32 logits and their gradient, plus the input gradient it fills
        loss = tokens * arch.hidden * (8 + 4)
    lora = arch.lora_params(lora_r, lora_targets) * 16
    runtime = GPU_RUNTIME_GB * GIB if hw.gpu else CPU_RUNTIME_GB * GIB
    # transient: one weight matrix dequantised or cast per matmul
    shapes = arch.linear_shapes().values()
    transient = max(a * b for a, b in shapes) * (4 if regime == "fp32" else 2)
    if compute.quantization == "none" and regime != "autocast":
        transient = 0
    # CPU: glibc's heap keeps blocks the forward and backward passes free, so the process peak
    # runs above the live tensors (CPU_HEAP_FACTOR).
    heap = 0.0 if hw.gpu else CPU_HEAP_FACTOR * (acts / shards + loss)
    return {
        "weights": gb(weight_bytes(arch, compute, hw) / shards),
        "lora_adamw": gb(lora / shards),
        "cpu_heap": gb(heap),
        "activations": gb(acts / shards),  # layers split: each device its own layers'
        "logits": gb(loss),
        "transient": gb(transient),
        "runtime": gb(runtime),
    }


def eval_memory(
    arch: Arch,
    *,
    compute: ComputeSettings,
    hw: Hardware,
    batch: int,
    length: int,
    autocast: bool,
    shards: int = 1,
) -> dict[str, float]:
    """GB per device for a forward pass of batch x length tokens: weights, KV cache, the
    largest layer's intermediates, full-vocabulary logits and their log-softmax."""
    e = weight_dtype_bytes(compute, hw)
    act_e = 2 if (e == 2 or autocast) else 4
    tokens = batch * length
    kv = arch.layers * 2 * arch.kv_dim * tokens * act_e
    layer = tokens * (3 * arch.intermediate + 4 * arch.hidden) * act_e + tokens * arch.hidden * 8
    logits = tokens * arch.vocab * (act_e + 4 + (4 if act_e == 2 else 0))
    runtime = GPU_RUNTIME_GB * GIB if hw.gpu else CPU_RUNTIME_GB * GIB
    transient = 0
    if compute.quantization != "none" or (autocast and e == 4):
        transient = max(a * b for a, b in arch.linear_shapes().values()) * act_e
    return {
        "weights": gb(weight_bytes(arch, compute, hw) / shards),
        "kv_cache": gb(kv / shards),
        "activations": gb(layer),
        "logits": gb(logits),
        "transient": gb(transient),
        "runtime": gb(runtime),
    }


def auto_eval_batch(
    arch: Arch,
    *,
    compute: ComputeSettings,
    hw: Hardware,
    length: int,
    autocast: bool,
    budget_gb: float,
    loaded: bool,
    most: int = AUTO_BATCH_MAX,
    shards: int = 1,
) -> int:
    """`eval.batch_size: auto`: the largest power of two up to `most` whose forward pass of
    batch x `length` tokens (`eval_memory`) fits `budget_gb`; 1 where none does. The runtime is
    already running; with `loaded` the weights are too (the budget is what is left beside
    them), so only the batch's own memory counts."""
    skip = {"runtime", "weights"} if loaded else {"runtime"}

    def need(batch: int) -> float:
        mem = eval_memory(arch, compute=compute, hw=hw, batch=batch, length=length,
                          autocast=autocast, shards=shards)  # fmt: skip
        return sum(v for k, v in mem.items() if k not in skip)

    batch = 1
    while batch * 2 <= most and need(batch * 2) <= budget_gb:
        batch *= 2
    return batch


def train_flops(arch: Arch, tokens: float, mean_length: float, checkpointing: bool) -> float:
    passes = 3 if checkpointing else 2  # forward, backward (inputs only) [, recompute]
    dense = 2 * arch.compute_params * passes
    attention = 2 * arch.layers * mean_length * arch.q_dim * (passes + 1)
    return (dense + attention) * tokens


@dataclass
class StagePlan:
    """What `platypus plan` says of one stage (a plug-in stage returns one from `plan()`)."""

    stage: str
    memory_gb_per_device: float
    fits: bool
    hours: float
    devices: int
    strategy: str
    memory: dict[str, float] = field(default_factory=dict)  # GB per device by component
    flops: float = 0.0
    tokens: float = 0.0
    notes: list[str] = field(default_factory=list)
    fix: str | None = None  # the cheapest change that makes a stage fit
    fixed: dict | None = None  # memory and hours with that change
