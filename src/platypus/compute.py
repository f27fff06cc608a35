"""Where and in which precision a model runs: a `ComputeSettings` resolved into a `Policy`.

- device: `auto` is CUDA when torch sees it, else Apple's mps, else the CPU.
- weights: `auto` is bfloat16 on CUDA (float16 where the GPU lacks bf16) and float32 elsewhere.
  On the CPU a caller that allows bf16 (training with `bf16: true`, eval with `bf16: true`) gets
  bf16 autocast over fp32 weights, but only where a timed matmul on this host (the probe, cached
  once per host, CPU model and torch version) shows bf16 at least 1.2x faster than fp32.
- quantization: bitsandbytes through transformers' `BitsAndBytesConfig` (4bit: nf4 with double
  quantisation, QLoRA's; 8bit: LLM.int8). The 4-bit compute dtype is QLoRA's bf16 on a GPU; on
  the CPU bf16 under the same rule as autocast (allowed, and faster by the probe), else fp32:
  where bf16 is emulated, a QLoRA step computed in bf16 took several times as long.
- device_map `auto` with `max_memory`: accelerate's big-model loading (layers spread over the
  devices, the rest offloaded to CPU memory or disk).

`Policy.describe()` is what manifests and results record.

`PLATYPUS_FORCE_PROBE=bf16-fast|bf16-slow` replaces the measured probe by a fixed verdict (bf16
2x faster, or 4x slower: what an AVX-512-bf16 CPU and one that emulates bf16 measure), so one
machine can run, and the test suite can pin, either kind of host's decisions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import socket
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platypus.errors import PlatypusError
from platypus.settings import ComputeSettings

PROBE_FILE = "compute-probe.json"  # in platypus.paths.cache_dir()
PROBE_SIZE = 512  # square matmul: where bf16 is emulated, 1024 took 20 s; 512 under 2 s
PROBE_REPS = 5
BF16_MIN_SPEEDUP = 1.2  # CPU autocast in bf16 only when the probe shows at least this
FORCE_PROBE_VAR = "PLATYPUS_FORCE_PROBE"
# The verdicts it can force: bf16's speed-up over fp32 as measured on each kind of host.
FORCED_SPEEDUPS = {"bf16-fast": 2.0, "bf16-slow": 0.25}
_timer = time.perf_counter  # tests replace it

_DTYPES = {"float32", "bfloat16", "float16"}


@dataclass
class Policy:
    """A resolved `ComputeSettings`: concrete device, weight dtype, autocast, loading options."""

    device: str  # "cpu", "cuda" or "mps"
    dtype: Any  # torch.dtype of the (unquantised) weights
    autocast: Any = None  # torch.dtype to autocast to, or None
    quant_compute: Any = None  # torch.dtype bitsandbytes computes 4-bit layers in, or None
    quantization: str = "none"  # none | 4bit | 8bit
    attn_implementation: str | None = None  # None: transformers' choice
    device_map: str | None = None  # "auto": accelerate's big-model loading
    max_memory: dict | None = None
    offload_folder: str | None = None  # disk offload for device_map auto
    probe: dict | None = None  # the CPU probe consulted, if any
    requested: dict = field(default_factory=dict)  # the settings as given
    trust_remote_code: bool = False  # run code a model folder ships (opt-in)
    custom_code: dict | None = None  # the code files that ran ({file: sha256}), set by the load

    def quantization_config(self):
        """transformers' BitsAndBytesConfig for `quantization`, None without one."""
        if self.quantization == "none":
            return None
        import torch
        from transformers import BitsAndBytesConfig

        if self.quantization == "4bit":
            return BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=self.quant_compute or torch.bfloat16,
            )
        return BitsAndBytesConfig(load_in_8bit=True)

    def load_kwargs(self) -> dict:
        """Keyword arguments for `AutoModelForCausalLM.from_pretrained`."""
        kwargs: dict = {"dtype": self.dtype}
        quant = self.quantization_config()
        if quant is not None:
            kwargs["quantization_config"] = quant
        if self.attn_implementation:
            kwargs["attn_implementation"] = self.attn_implementation
        if self.device_map:
            kwargs["device_map"] = self.device_map
            if self.max_memory:
                kwargs["max_memory"] = self.max_memory
            if self.offload_folder:
                kwargs["offload_folder"] = self.offload_folder
        elif quant is not None:
            # bitsandbytes quantises while loading, on the device the weights land on.
            kwargs["device_map"] = {"": self.device if self.device != "cuda" else 0}
        return kwargs

    def autocast_context(self):
        """The autocast context for forward passes under this policy."""
        import torch

        if self.autocast is None:
            return nullcontext()
        return torch.autocast(self.device, dtype=self.autocast)

    def describe(self) -> dict:
        """JSON-able: what this policy is, for manifests and results."""
        return {
            "device": self.device,
            "dtype": _name(self.dtype),
            "autocast": _name(self.autocast) if self.autocast is not None else None,
            "quantization": self.quantization,
            "quant_compute": _name(self.quant_compute) if self.quant_compute is not None else None,
            "attn_implementation": self.attn_implementation or "auto",
            "device_map": self.device_map,
            "max_memory": self.max_memory,
            "probe": self.probe,
            "requested": self.requested,
            "trust_remote_code": self.trust_remote_code,
            "custom_code": self.custom_code,
        }


def _name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def resolve(
    settings: ComputeSettings | Policy | None = None,
    *,
    allow_bf16: bool = False,
    probe: bool = True,
) -> Policy:
    """The policy for `settings` on this host. `allow_bf16`: the caller accepts bf16 arithmetic
    where `dtype: auto` would otherwise keep fp32 (CPU and mps). `probe`: time bf16 against fp32
    on the CPU (cached) to decide CPU autocast; without it CPU auto stays fp32."""
    import torch

    if isinstance(settings, Policy):
        return settings
    settings = settings or ComputeSettings()
    device = _device(settings.device)
    probed = None

    def cpu_bf16_faster() -> bool:
        """The host's probe (cached) on bf16 against fp32; the policy records what it read."""
        nonlocal probed
        probed = cpu_probe()
        return probed["speedup"] >= BF16_MIN_SPEEDUP

    # A GPU's half precision: bf16 where supported.
    gpu_half = None
    if device == "cuda":
        gpu_half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    autocast = None
    if settings.dtype in _DTYPES:
        dtype = getattr(torch, settings.dtype)
    elif device == "cuda":
        dtype = gpu_half
    else:
        dtype = torch.float32
        if device == "cpu" and allow_bf16 and probe and settings.quantization == "none":
            if cpu_bf16_faster():
                autocast = torch.bfloat16
    quant_compute = None
    if settings.quantization != "none":
        _check_bitsandbytes(settings.quantization, device)
        if device == "cuda":
            quant_compute = gpu_half
        elif device != "cpu":
            quant_compute = torch.bfloat16
        # On a CPU: bf16 asked for as such (no probe) is taken as given, else the probe decides.
        elif allow_bf16 and (not probe or cpu_bf16_faster()):
            quant_compute = torch.bfloat16
        else:
            quant_compute = torch.float32
    attn = None if settings.attn_implementation == "auto" else settings.attn_implementation
    if attn == "flash_attention_2" and device != "cuda":
        raise PlatypusError(f"compute: flash_attention_2 needs a CUDA device, not {device}")
    if attn == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise PlatypusError(
            "compute: flash_attention_2 needs the flash-attn package (pip install flash-attn "
            "--no-build-isolation); sdpa packs without it"
        )
    device_map = "auto" if settings.device_map == "auto" else None
    if settings.max_memory and not device_map:
        raise PlatypusError("compute: max_memory needs device_map: auto")
    return Policy(
        device=device,
        dtype=dtype,
        autocast=autocast,
        quant_compute=quant_compute,
        quantization=settings.quantization,
        attn_implementation=attn,
        device_map=device_map,
        max_memory=_max_memory(settings.max_memory) if settings.max_memory else None,
        probe=probed,
        requested=settings.model_dump(),
        trust_remote_code=settings.trust_remote_code,
    )


def _device(name: str) -> str:
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if name == "cuda" and not cuda:
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise PlatypusError(
            f"compute: device cuda requested but torch sees no CUDA device "
            f"(torch {torch.__version__}, {build}); use device: auto or cpu"
        )
    if name == "mps" and not mps:
        raise PlatypusError("compute: device mps requested but torch sees no mps device")
    return name


def _check_bitsandbytes(quantization: str, device: str) -> None:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise PlatypusError(
            f"compute: quantization {quantization} needs bitsandbytes (pip install bitsandbytes)"
        ) from None
    if device == "mps":
        raise PlatypusError(f"compute: quantization {quantization} is not supported on mps")


def _max_memory(limits: dict[str, str]) -> dict:
    """Config keys as accelerate wants them: GPU indices as ints, "cpu"/"disk"/"mps" as given."""
    return {int(k) if str(k).isdigit() else k: v for k, v in limits.items()}


def host_key() -> str:
    """What the probe result is valid for: host name, CPU model and torch version."""
    import torch

    return f"{socket.gethostname()}|{_cpu_model()}|torch {torch.__version__}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_probe(refresh: bool = False) -> dict:
    """fp32 and bf16 matmul timings on this host's CPU, measured once and cached in
    `cache_dir()/compute-probe.json` under `host_key()`."""
    from platypus.paths import cache_dir

    forced = forced_probe()
    if forced is not None:
        return forced
    path = cache_dir() / PROBE_FILE
    key = host_key()
    known: dict = {}
    if path.is_file():
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict):
            known = {}
    if not refresh and isinstance(known.get(key), dict) and "speedup" in known[key]:
        return known[key] | {"cached": True}
    result = _measure()
    known[key] = result
    # A new temporary file (O_EXCL: never one planted there), moved over the probe file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(known, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return result | {"cached": False}


def forced_probe() -> dict | None:
    """The verdict `PLATYPUS_FORCE_PROBE` fixes (see the module's docstring); None when unset."""
    value = os.environ.get(FORCE_PROBE_VAR, "").strip()
    if not value:
        return None
    if value not in FORCED_SPEEDUPS:
        raise PlatypusError(
            f"{FORCE_PROBE_VAR}={value[:40]!r}: expected one of {', '.join(FORCED_SPEEDUPS)}"
        )
    speedup = FORCED_SPEEDUPS[value]
    return {"host": host_key(), "fp32_s": speedup, "bf16_s": 1.0, "speedup": speedup,
            "forced": value, "cached": False}  # fmt: skip


def _measure() -> dict:
    import torch

    g = torch.Generator().manual_seed(0)
    a = torch.randn(PROBE_SIZE, PROBE_SIZE, generator=g)
    b = torch.randn(PROBE_SIZE, PROBE_SIZE, generator=g)
    times = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        x, y = a.to(dtype), b.to(dtype)
        torch.mm(x, y)  # warm-up
        start = _timer()
        for _ in range(PROBE_REPS):
            torch.mm(x, y)
        times[name] = max(_timer() - start, 1e-9) / PROBE_REPS
    return {
        "host": host_key(),
        "fp32_s": times["fp32"],
        "bf16_s": times["bf16"],
        "speedup": times["fp32"] / times["bf16"],
        "size": PROBE_SIZE,
        "reps": PROBE_REPS,
        "threads": torch.get_num_threads(),
    }
