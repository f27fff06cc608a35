"""`platypus plan`: memory per device and hours of each stage of a recipe, before running it.

Everything is arithmetic on the model's architecture (its config.json, or a built-in table of
Llama-2 7B/13B/70B so the paper's hub ids plan offline), the recipe's settings and a hardware
table. Sizes are GiB (2**30 bytes), written "GB" as the hardware names do.

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

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platypus.config import ComputeSettings, Recipe, TrainConfig
from platypus.errors import PlatypusError

GIB = 2**30
OPEN_PLATYPUS_ROWS = 24_926  # the released garage-bAInd/Open-Platypus
# Mean tokens per Alpaca-formatted row assumed when no clean set exists: 260 measured on the
# MATH rows of ../shared/data with SmolLM2's tokenizer (template included); Llama's tokenizer
# splits digits and the hub-only sources (guanaco, airoboros, leetcode) are longer.
ASSUMED_TOKENS_PER_ROW = 400
CHARS_PER_TOKEN = 2.5  # measured on MATH with SmolLM2's tokenizer; used when no tokenizer loads
CPU_RUNTIME_GB = 0.45
GPU_RUNTIME_GB = 1.0
EVAL_CONTEXT = 2048  # longest few-shot prompts (ARC 25-shot) in Llama tokens, about
# `eval.batch_size: auto`: at most this many rows a batch (lm-eval's own cap for `auto`), in
# this share of the memory free on the device (the rest: fragmentation, other processes).
AUTO_BATCH_MAX = 64
AUTO_BATCH_SHARE = 0.5
DISK_GB_PER_S = 1.0  # merge: read and write the weights once
# Each task's eval cost is its own (`Task.plan_cost` in platypus.tasks).
MINILM_PARAMS = 22.7e6
EMBED_TOKENS = 256  # MiniLM truncates texts here
# test questions of the six tasks (decontamination compares against): ARC 1,172, HellaSwag
# 10,042, MMLU 14,042, TruthfulQA 817, Winogrande 1,267, GSM8K 1,319
BENCHMARK_TEXTS = 28_659


@dataclass(frozen=True)
class Arch:
    """The architecture fields a plan needs (a Llama-style decoder)."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool = False
    max_positions: int = 4096
    head_dim: int | None = None
    name: str = ""

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.hd

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.hd

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each linear layer of one decoder layer."""
        h, i = self.hidden, self.intermediate
        return {
            "q_proj": (h, self.q_dim),
            "k_proj": (h, self.kv_dim),
            "v_proj": (h, self.kv_dim),
            "o_proj": (self.q_dim, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    @property
    def layer_linear_params(self) -> int:
        return sum(a * b for a, b in self.linear_shapes().values())

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        norms = self.layers * 2 * self.hidden + self.hidden
        head = 0 if self.tied else self.embedding_params
        return self.layers * self.layer_linear_params + self.embedding_params + head + norms

    @property
    def compute_params(self) -> int:
        """Parameters a token multiplies through: all but the input embedding lookup."""
        return self.layers * self.layer_linear_params + self.embedding_params

    def lora_params(self, r: int, targets: list[str]) -> int:
        shapes = self.linear_shapes()
        return self.layers * sum(r * sum(shapes[t]) for t in targets if t in shapes)


def _llama2(name: str, h: int, i: int, layers: int, heads: int, kv: int) -> Arch:
    return Arch(h, i, layers, heads, kv, 32_000, False, 4096, None, name)


# The paper's bases, from their config.json on the hub, so they plan without a download.
BUILTIN_ARCHS = {
    "meta-llama/Llama-2-7b-hf": _llama2("Llama-2-7b", 4096, 11008, 32, 32, 32),
    "meta-llama/Llama-2-13b-hf": _llama2("Llama-2-13b", 5120, 13824, 40, 40, 40),
    "meta-llama/Llama-2-70b-hf": _llama2("Llama-2-70b", 8192, 28672, 80, 64, 8),
}
for _size in ("7b", "13b", "70b"):
    BUILTIN_ARCHS[f"meta-llama/Llama-2-{_size}-chat-hf"] = BUILTIN_ARCHS[
        f"meta-llama/Llama-2-{_size}-hf"
    ]


def arch_from_config(cfg: dict, name: str = "") -> Arch:
    """An Arch from a transformers config.json (Llama, Mistral, Qwen2 and alike)."""
    try:
        hidden = int(cfg["hidden_size"])
        heads = int(cfg["num_attention_heads"])
        return Arch(
            hidden=hidden,
            intermediate=int(cfg["intermediate_size"]),
            layers=int(cfg["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(cfg.get("num_key_value_heads") or heads),
            vocab=int(cfg["vocab_size"]),
            tied=bool(cfg.get("tie_word_embeddings", False)),
            max_positions=int(cfg.get("max_position_embeddings") or 4096),
            head_dim=cfg.get("head_dim"),
            name=name,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlatypusError(f"model {name}: config.json lacks a decoder field ({exc})") from None


def resolve_arch(model: str | None) -> Arch:
    """The architecture of a model: the packaged SmolLM2, a folder, a built-in hub id, or a hub
    id whose config.json the hub cache holds."""
    from platypus.models.causal_lm import _SMOLLM2_ALIASES

    if model in _SMOLLM2_ALIASES:
        from platypus.models import prepared_path

        folder = prepared_path()
        return arch_from_config(json.loads((folder / "config.json").read_text()), "SmolLM2-135M")
    name = str(model)
    folder = Path(name).expanduser()
    if folder.is_dir():
        cfg = folder / "config.json"
        if not cfg.is_file():
            raise PlatypusError(f"model {name}: no config.json in this folder")
        return arch_from_config(json.loads(cfg.read_text()), folder.name)
    if name in BUILTIN_ARCHS:
        return BUILTIN_ARCHS[name]
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:
        cached = None
    if isinstance(cached, str):
        return arch_from_config(json.loads(Path(cached).read_text()), name.split("/")[-1])
    known = ", ".join(k for k in BUILTIN_ARCHS if "chat" not in k)
    raise PlatypusError(
        f"model {name}: no local folder or cached config.json to plan from; built in: {known}"
    )


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


def train_autocast(train: TrainConfig, gpu: bool) -> bool:
    """Whether training autocasts to bf16: `bf16: auto` on a CPU with `auto` weights follows
    this host's probe (platypus.compute), as the training run will."""
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


# Stage plans -----------------------------------------------------------------------------------


@dataclass
class StagePlan:
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


def _gb(x: float) -> float:
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
        "weights": _gb(weight_bytes(arch, compute, hw) / shards),
        "lora_adamw": _gb(lora / shards),
        "cpu_heap": _gb(heap),
        "activations": _gb(acts / shards),  # layers split: each device its own layers'
        "logits": _gb(loss),
        "transient": _gb(transient),
        "runtime": _gb(runtime),
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
        "weights": _gb(weight_bytes(arch, compute, hw) / shards),
        "kv_cache": _gb(kv / shards),
        "activations": _gb(layer),
        "logits": _gb(logits),
        "transient": _gb(transient),
        "runtime": _gb(runtime),
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


# Token counts ----------------------------------------------------------------------------------


@dataclass
class DataSize:
    rows: int
    tokens_per_row: float
    source: str


def _clean_set(recipe: Recipe) -> Path | None:
    from platypus.pipeline.stages import STAGES

    if recipe.train.input:
        path = Path(recipe.train.input)
        if not path.is_file():
            raise PlatypusError(f"train.input {path}: no such file")
        return path
    if not any(s.enabled for s in recipe.data.build.sources.values()):
        raise PlatypusError(
            "data.build enables no source and train.input is not set: nothing to plan "
            "training on; enable a source or set train.input"
        )
    run_dir = Path(recipe.run_dir or f"runs/{recipe.name}")
    stage = STAGES["decontaminate"]
    candidates = sorted(run_dir.glob("decontaminate-*"), key=lambda p: p.stat().st_mtime)
    for folder in reversed(candidates):
        path = stage.output("clean", recipe.data.decontaminate, folder)
        if path.is_file():
            return path
    return None


def data_size(recipe: Recipe) -> DataSize:
    """Rows and mean tokens per row: the run's clean set when it exists, else Open-Platypus."""
    path = _clean_set(recipe)
    if path is None:
        return DataSize(
            OPEN_PLATYPUS_ROWS,
            ASSUMED_TOKENS_PER_ROW,
            f"Open-Platypus size ({OPEN_PLATYPUS_ROWS:,} rows, "
            f"{ASSUMED_TOKENS_PER_ROW} tokens/row assumed)",
        )
    from platypus.train.examples import read_training_rows
    from platypus.train.template import alpaca_prompt

    records = read_training_rows(path, recipe.train).rows
    sample = records[:: max(1, len(records) // 500)]
    texts = [_row_text(r, alpaca_prompt) for r in sample]
    tok = _tokenizer(recipe)
    if tok is not None:
        mean = sum(len(tok(t).input_ids) for t in texts) / max(1, len(texts))
        how = "tokenised"
    else:
        mean = sum(len(t) for t in texts) / max(1, len(texts)) / CHARS_PER_TOKEN
        how = f"{CHARS_PER_TOKEN} chars/token"
    what = f"{path} ({len(records):,} rows, {mean:.0f} tokens/row, {how})"
    return DataSize(len(records), mean, what)


def _tokenizer(recipe: Recipe):
    """The training base's tokenizer; None when it cannot be had (an unknown model offline), and
    the row length is estimated instead. A base that ships code is refused without the opt-in,
    not silently estimated."""
    from transformers import AutoTokenizer

    from platypus.models import resolve_causal_lm
    from platypus.models.remote_code import check_custom_code

    try:
        base = resolve_causal_lm(recipe.train.model)
    except PlatypusError:
        return None
    trust = recipe.train.compute.trust_remote_code
    check_custom_code(base, trust)
    try:
        return AutoTokenizer.from_pretrained(base, trust_remote_code=trust)
    except (OSError, ValueError):
        return None


def _row_text(row, alpaca_prompt) -> str:
    if hasattr(row, "turns"):  # a chat row: its turns, without the template's few tokens
        return "\n".join(content for _, content in row.turns)
    return alpaca_prompt(row.instruction, row.input) + row.output


# The plan --------------------------------------------------------------------------------------


def _devices_strategy(compute: ComputeSettings, hw: Hardware) -> tuple[int, int, str]:
    """(shards of the weights, devices computing at once, strategy)."""
    if hw.devices == 1:
        return 1, 1, "one device"
    if compute.device_map == "auto":
        return hw.devices, 1, f"layers split over {hw.devices} devices (one computes at a time)"
    return 1, hw.devices, f"DDP on {hw.devices} devices"


def _hours(flops: float, hw: Hardware, computing: int, quantization: str) -> float:
    rate = hw.tflops * 1e12 * hw.utilisation * computing * QUANT_SPEED[quantization]
    return flops / rate / 3600


def plan_train(recipe: Recipe, arch: Arch, hw: Hardware, size: DataSize) -> StagePlan:
    t = recipe.train
    compute = t.compute
    shards, computing, strategy = _devices_strategy(compute, hw)
    return _train_plan(recipe, arch, hw, size, compute, t.micro_batch_size,
                       t.gradient_checkpointing, shards, computing, strategy)  # fmt: skip


def _train_plan(recipe, arch, hw, size, compute, micro, checkpointing, shards, computing,
                strategy, fsdp=False) -> StagePlan:  # fmt: skip
    t = recipe.train
    rows = min(size.rows, t.limit or size.rows) - min(t.val_size, size.rows // 2)
    mean_len = min(size.tokens_per_row, t.max_length)
    tokens = rows * mean_len * t.epochs
    if t.max_steps:
        tokens = min(tokens, t.max_steps * t.global_batch_size * mean_len)
    mem = train_memory(
        arch,
        compute=compute,
        hw=hw,
        micro_batch=micro,
        length=t.max_length,
        autocast=train_autocast(t, hw.gpu),
        checkpointing=checkpointing,
        lora_r=t.lora.r,
        lora_targets=t.lora.target_modules,
        lora_dropout=t.lora.dropout,
        shards=shards,
        attn_eager=compute.attn_implementation == "eager",
        liger=t.liger and hw.gpu,
        offloading=t.activation_offloading and hw.gpu,
    )
    if fsdp:  # weights and LoRA state sharded; each device computes its own micro-batches
        mem["weights"] = mem["weights"] / hw.devices
        mem["lora_adamw"] = mem["lora_adamw"] / hw.devices
    flops = train_flops(arch, tokens, mean_len, checkpointing)
    total = sum(mem.values())
    return StagePlan(
        stage="train",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=_hours(flops, hw, computing, compute.quantization) * (1.1 if fsdp else 1.0),
        devices=hw.devices,
        strategy=strategy,
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=flops,
        tokens=tokens,
        notes=[
            f"{rows:,} rows x {mean_len:.0f} tokens x {t.epochs:g} epoch(s); "
            f"memory for micro-batch {micro} x {t.max_length} tokens",
            f"FLOPs = {'6' if checkpointing else '4'}NT + attention, N = "
            f"{arch.compute_params / 1e9:.2f}B",
        ],
    )


def _fix_train(recipe: Recipe, arch: Arch, hw: Hardware, size: DataSize, plan: StagePlan):
    """The cheapest cumulative changes that make training fit: gradient checkpointing, a
    smaller micro-batch, 8-bit then 4-bit weights, and (several devices) sharding."""
    t = recipe.train
    compute, micro, ckpt = t.compute, t.micro_batch_size, t.gradient_checkpointing
    shards, computing, strategy = _devices_strategy(compute, hw)
    steps: list[str] = []
    candidates = []
    if not ckpt:
        candidates.append(("train.gradient_checkpointing=true", "ckpt"))
    m = micro
    while m > 1:
        m = max(1, m // 2)
        candidates.append((f"train.micro_batch_size={m}", ("micro", m)))
    if hw.devices > 1 and shards == 1:
        candidates.append(("FSDP over the devices (accelerate launch --config_file fsdp.yaml)",
                           "fsdp"))  # fmt: skip
    if compute.quantization == "none":
        candidates.append(("train.compute.quantization=8bit", ("quant", "8bit")))
    if compute.quantization != "4bit":
        candidates.append(("train.compute.quantization=4bit", ("quant", "4bit")))
    fsdp = False
    for text, change in candidates:
        if change == "ckpt":
            ckpt = True
        elif change == "fsdp":
            fsdp, strategy = True, f"FSDP on {hw.devices} devices"
        elif change[0] == "micro":
            micro = change[1]
        else:
            compute = compute.model_copy(update={"quantization": change[1]})
        steps.append(text)
        trial = _train_plan(recipe, arch, hw, size, compute, micro, ckpt, shards, computing,
                            strategy, fsdp)  # fmt: skip
        if trial.fits:
            return "; ".join(steps), trial
    bigger = "4xA100-80GB with FSDP" if hw.devices == 1 else "more or larger devices"
    return f"does not fit even with {'; '.join(steps)}: {bigger}", None


def eval_tokens(recipe: Recipe) -> float:
    """Tokens an eval runs through the model: each task's own `plan_cost`, items up to `limit`."""
    from platypus.tasks.registry import TASKS

    e = recipe.eval
    total = 0.0
    for task in e.tasks:
        items, per_item = TASKS[task].plan_cost
        total += min(items, e.limit or items) * per_item
    return total


def plan_eval(recipe: Recipe, arch: Arch, hw: Hardware) -> StagePlan:
    e = recipe.eval
    compute = e.compute
    autocast = eval_autocast(e, hw.gpu)  # `bf16: true` on a CPU is the probe's call
    shards, computing, strategy = _devices_strategy(compute, hw)
    length = min(EVAL_CONTEXT, arch.max_positions)
    if e.batch_size == "auto":  # what the run picks, with the model loaded on this hardware
        base = eval_memory(arch, compute=compute, hw=hw, batch=1, length=length,
                           autocast=autocast, shards=shards)  # fmt: skip
        free = hw.memory_gb - base["weights"] - base["runtime"]
        batch = auto_eval_batch(arch, compute=compute, hw=hw, length=length, autocast=autocast,
                                budget_gb=AUTO_BATCH_SHARE * free, loaded=True,
                                shards=shards)  # fmt: skip
    else:
        batch = max(e.batch_size, 4)
    mem = eval_memory(arch, compute=compute, hw=hw, batch=batch, length=length,
                      autocast=autocast, shards=shards)  # fmt: skip
    models = len(recipe.eval_models)
    tokens = eval_tokens(recipe) * models
    flops = 2 * arch.compute_params * tokens
    total = sum(mem.values())
    plan = StagePlan(
        stage="eval",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=_hours(flops, hw, computing, compute.quantization),
        devices=hw.devices,
        strategy=strategy,
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=flops,
        tokens=tokens,
        notes=[
            f"{models} model(s) x {', '.join(e.tasks)}; memory for {batch} x {length} tokens",
            "FLOPs = 2NT",
        ],
    )
    if not plan.fits:
        for quant in ("8bit", "4bit"):
            c = compute.model_copy(update={"quantization": quant})
            m = eval_memory(arch, compute=c, hw=hw, batch=1, length=length, autocast=autocast,
                            shards=shards)  # fmt: skip
            if sum(m.values()) <= hw.memory_gb:
                plan.fix = f"eval.batch_size=1; eval.compute.quantization={quant}"
                plan.fixed = {"memory_gb_per_device": round(sum(m.values()), 2)}
                break
        else:
            plan.fix = "eval.compute.device_map=auto on more devices"
    return plan


def plan_merge(recipe: Recipe, arch: Arch, hw: Hardware) -> StagePlan:
    """Streams tensor by tensor in fp32: the largest tensor three times (base, delta, result),
    the adapter, the runtime; time is reading and writing the weights."""
    m = recipe.merge
    largest = max(arch.embedding_params, *(a * b for a, b in arch.linear_shapes().values()))
    adapter = arch.lora_params(recipe.train.lora.r, recipe.train.lora.target_modules) * 4
    runtime = GPU_RUNTIME_GB * GIB if m.compute.device == "cuda" else CPU_RUNTIME_GB * GIB
    mem = {"tensors": _gb(3 * 4 * largest), "adapter": _gb(adapter), "runtime": _gb(runtime)}
    out_e = {"float32": 4, None: 4}.get(m.dtype, 2)
    io = arch.params * (4 + out_e)
    total = sum(mem.values())
    # The merge runs on one device (or the CPU); its memory is checked against one device.
    cap = hw.memory_gb if m.compute.device != "cpu" or not hw.gpu else cpu_memory_gb()
    return StagePlan(
        stage="merge",
        memory_gb_per_device=round(total, 2),
        fits=total <= cap,
        hours=io / GIB / DISK_GB_PER_S / 3600,
        devices=1,
        strategy="streaming, one tensor at a time",
        memory={k: round(v, 3) for k, v in mem.items()},
        notes=[f"reads {_gb(arch.params * 4):.0f} GB fp32-equivalent at {DISK_GB_PER_S} GB/s"],
    )


def plan_data(recipe: Recipe, hw: Hardware, size: DataSize) -> StagePlan:
    """Dedup and decontamination, roughly: MiniLM embeddings of every row and benchmark text
    (2 x 22.7M x 256 FLOPs each) and the all-pairs cosine search (2 x 384 per pair)."""
    rows = size.rows
    texts = rows * 2 + BENCHMARK_TEXTS  # dedup embeds rows; decontamination rows + benchmarks
    embed = 2 * MINILM_PARAMS * EMBED_TOKENS * texts
    pairs = 2 * 384 * (rows * rows / 2 + rows * BENCHMARK_TEXTS)
    rate = hw.tflops * 1e12 * hw.utilisation
    mem = {
        "embedder": _gb(MINILM_PARAMS * 4),
        "embeddings": _gb((rows + BENCHMARK_TEXTS) * 384 * 4 * 2),
        "runtime": CPU_RUNTIME_GB if not hw.gpu else GPU_RUNTIME_GB,
    }
    total = sum(mem.values())
    return StagePlan(
        stage="data",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=(embed + pairs) / rate / 3600,
        devices=1,
        strategy="one device",
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=embed + pairs,
        notes=[f"{rows:,} rows embedded twice, {BENCHMARK_TEXTS:,} benchmark texts"],
    )


@dataclass
class Plan:
    recipe: str
    model: str
    params_b: float
    lora_params_m: float
    hardware: Hardware
    data: str
    stages: list[StagePlan]

    def to_json(self) -> dict:
        return {
            "recipe": self.recipe,
            "model": self.model,
            "params_b": round(self.params_b, 3),
            "lora_params_m": round(self.lora_params_m, 2),
            "hardware": asdict(self.hardware),
            "data": self.data,
            "stages": {
                s.stage: {
                    "memory_gb_per_device": s.memory_gb_per_device,
                    "fits": s.fits,
                    "hours": round(s.hours, 3),
                    "devices": s.devices,
                    "strategy": s.strategy,
                    "memory_gb": s.memory,
                    "tflop": round(s.flops / 1e12, 1),
                    "tokens": round(s.tokens),
                    "notes": s.notes,
                    "fix": s.fix,
                    "fixed": s.fixed,
                }
                for s in self.stages
            },
        }

    def table(self) -> str:
        hw = self.hardware
        lines = [
            f"{self.recipe}: {self.model} ({self.params_b:.2f}B parameters, "
            f"LoRA {self.lora_params_m:.1f}M) on {hw.name} "
            f"({hw.devices} x {hw.memory_gb:.0f} GB, {hw.tflops:g} TFLOP/s at "
            f"{hw.utilisation:.0%})",
            f"data: {self.data}",
            f"{'stage':<6} {'GB/device':>10} {'fits':>5} {'hours':>8}  strategy",
        ]
        for s in self.stages:
            lines.append(
                f"{s.stage:<6} {s.memory_gb_per_device:>10.1f} {'yes' if s.fits else 'NO':>5} "
                f"{s.hours:>8.2f}  {s.strategy}"
            )
        for s in self.stages:
            parts = ", ".join(f"{k} {v:.1f}" for k, v in s.memory.items())
            lines.append(f"  {s.stage}: {parts} GB; {'; '.join(s.notes)}")
            if s.fix:
                after = ""
                if s.fixed:
                    after = f" -> {s.fixed['memory_gb_per_device']:.1f} GB/device"
                    if "hours" in s.fixed:
                        after += f", {s.fixed['hours']:.2f} h"
                lines.append(f"  {s.stage} does not fit; cheapest fix: {s.fix}{after}")
        return "\n".join(lines)


def plan_recipe(
    recipe: Recipe, hardware_name: str = "cpu", cpu_tflops: float | None = None, name: str = ""
) -> Plan:
    hw = hardware(
        hardware_name, cpu_tflops, bf16=train_autocast(recipe.train, hardware_name != "cpu")
    )
    arch = resolve_arch(recipe.train.model)
    size = data_size(recipe)
    train = plan_train(recipe, arch, hw, size)
    if not train.fits:
        train.fix, fixed = _fix_train(recipe, arch, hw, size, train)
        if fixed is not None:
            train.fixed = {"memory_gb_per_device": fixed.memory_gb_per_device,
                           "hours": round(fixed.hours, 3)}  # fmt: skip
    eval_arch = arch if recipe.eval.model is None else resolve_arch(recipe.eval.model)
    stages = [plan_data(recipe, hw, size), train, plan_merge(recipe, arch, hw),
              plan_eval(recipe, eval_arch, hw)]  # fmt: skip
    lora = arch.lora_params(recipe.train.lora.r, recipe.train.lora.target_modules)
    model_name = arch.name or str(recipe.train.model)
    return Plan(name or recipe.name, model_name, arch.params / 1e9, lora / 1e6, hw,
                size.source, stages)  # fmt: skip


def with_compute(recipe: Recipe, **updates) -> Recipe:
    """The recipe with train.compute fields changed (a what-if)."""
    compute = recipe.train.compute.model_copy(update=updates)
    return recipe.model_copy(update={"train": recipe.train.model_copy(update={"compute": compute})})


__all__ = [
    "Arch",
    "BUILTIN_ARCHS",
    "HARDWARE",
    "Plan",
    "StagePlan",
    "arch_from_config",
    "auto_eval_batch",
    "eval_memory",
    "plan_recipe",
    "resolve_arch",
    "train_memory",
    "with_compute",
]
