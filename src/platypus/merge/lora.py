"""LoRA deltas from a PEFT adapter folder, and the checks before applying them to a model.

delta(W) = scale * B @ A with scale = alpha / r (alpha / sqrt(r) for rsLoRA), computed in
float32. Applying an adapter to the model it was trained on is the PEFT merge; applying it to
another fine-tune of the same base is the Platypus transplant (W' + scale * B @ A), which is
only sound when the two share architecture, shapes and vocabulary and the delta is small next
to the weights it lands on.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from platypus.errors import PlatypusError

# Config fields that must agree between the adapter's base and a transplant target.
ARCH_FIELDS = (
    "model_type",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
)


@dataclass
class Adapter:
    folder: Path
    config: dict
    scale: float
    deltas: dict[str, tuple[torch.Tensor, torch.Tensor]]  # target weight name -> (A, B)

    def delta(self, name: str) -> torch.Tensor:
        a, b = self.deltas[name]
        return (b.float() @ a.float()) * self.scale


def load_adapter(folder: str | Path) -> Adapter:
    folder = Path(folder)
    cfg_path = folder / "adapter_config.json"
    weights = folder / "adapter_model.safetensors"
    if not cfg_path.is_file() or not weights.is_file():
        raise PlatypusError(
            f"{folder}: not a PEFT adapter (adapter_config.json and "
            "adapter_model.safetensors expected)"
        )
    config = json.loads(cfg_path.read_text())
    if config.get("peft_type", "LORA") != "LORA":
        raise PlatypusError(f"{folder}: {config.get('peft_type')} adapters cannot be merged here")
    for unsupported in ("use_dora", "modules_to_save"):
        if config.get(unsupported):
            raise PlatypusError(f"{folder}: adapters with {unsupported} are not supported")
    r, alpha = config["r"], config["lora_alpha"]
    scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    tensors = load_file(weights)
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        for part in ("lora_A", "lora_B"):
            marker = f".{part}.weight"
            if key.endswith(marker):
                module = key[: -len(marker)].removeprefix("base_model.model.")
                pairs.setdefault(module + ".weight", {})[part] = value
    if not pairs or any(len(p) != 2 for p in pairs.values()):
        raise PlatypusError(f"{weights}: no complete lora_A/lora_B pairs found")
    deltas = {name: (p["lora_A"], p["lora_B"]) for name, p in sorted(pairs.items())}
    return Adapter(folder, config, scale, deltas)


@dataclass
class Compatibility:
    ok: bool
    problems: list[str] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # ||delta|| / ||W|| per weight

    def summary(self) -> dict:
        r = list(self.ratios.values())
        return {
            "ok": self.ok,
            "problems": self.problems,
            "modules": len(r),
            "delta_ratio_median": statistics.median(r) if r else None,
            "delta_ratio_max": max(r) if r else None,
        }


def check(
    adapter: Adapter, target, target_config: dict, base_config: dict | None, max_delta_ratio: float
) -> Compatibility:
    """Is it sound to add the adapter's deltas to `target` (a Checkpoint)?"""
    problems = []
    if base_config is not None:
        for key in ARCH_FIELDS:
            if base_config.get(key) != target_config.get(key):
                problems.append(
                    f"{key}: adapter base {base_config.get(key)!r}, "
                    f"target {target_config.get(key)!r}"
                )
    missing = [n for n in adapter.deltas if n not in target.info]
    if missing:
        problems.append(f"{len(missing)} adapted weights missing in the target, e.g. {missing[0]}")
    ratios = {}
    for name in adapter.deltas:
        if name in missing:
            continue
        a, b = adapter.deltas[name]
        want = target.info[name].shape
        if (b.shape[0], a.shape[1]) != tuple(want):
            problems.append(f"{name}: adapter shape {(b.shape[0], a.shape[1])}, target {want}")
            continue
        w = target.get(name).float()
        ratios[name] = float(adapter.delta(name).norm() / w.norm().clamp_min(1e-12))
    if ratios and max(ratios.values()) > max_delta_ratio:
        worst = max(ratios, key=ratios.get)
        problems.append(
            f"delta too large: ||delta||/||W|| = {ratios[worst]:.3f} at {worst} "
            f"(limit {max_delta_ratio})"
        )
    return Compatibility(not problems, problems, ratios)
