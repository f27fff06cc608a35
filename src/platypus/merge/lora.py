"""LoRA deltas from a PEFT adapter folder, and the checks before applying them to a model.

delta(W) = scale * B @ A with scale = alpha / r (alpha / sqrt(r) for rsLoRA), computed in
float32, with r and alpha per module as PEFT resolves rank_pattern / alpha_pattern. Adapters
whose merge is anything else (DoRA and PEFT's other LoRA variants, replaced modules, ...) are
refused in one line.

Applying an adapter to the model it was trained on is the PEFT merge; applying it to another
fine-tune of the same base is the Platypus transplant (W' + scale * B @ A), which is only
sound when the two share architecture, shapes and vocabulary and the delta is small next to
the weights it lands on.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from platypus.errors import PlatypusError
from platypus.merge.adapter_files import WEIGHTS, check_adapter_folder

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


# adapter_config.json fields under which a saved adapter is not (only) scale * B @ A on
# existing weights, with why: refused rather than merged wrongly. PEFT's LoRA variants (its
# LoraConfig fields tagged is_lora_variant, variant initialisations) are refused as well.
UNSUPPORTED = {
    "use_dora": "DoRA rescales each column by a learned magnitude",
    "modules_to_save": "whole modules are replaced, not adapted",
    "fan_in_fan_out": "transposed (Conv1D) weights",
    "layer_replication": "layers are duplicated",
    "target_parameters": "LoRA on bare parameters",
    "trainable_token_indices": "trained token rows",
    "alora_invocation_tokens": "the delta applies only after invocation tokens",
    "megatron_config": "Megatron-parallel layers",
    "use_bdlora": "block-diagonal LoRA",
    "arrow_config": "an Arrow router over several adapters",
}
PREFIX = "base_model.model."
# Saved tensor suffixes: (role, whether the module is an embedding).
FACTORS = {
    ".lora_A.weight": ("A", False),
    ".lora_B.weight": ("B", False),
    ".lora_B.bias": ("bias", False),  # lora_bias: scale * bias is added to the layer's bias
    ".lora_embedding_A": ("A", True),
    ".lora_embedding_B": ("B", True),
    ".base_layer.weight": ("own", True),  # PEFT saves an adapted embedding's own weights too
}


@dataclass
class LoraModule:
    """One adapted weight: delta = scale * B @ A (transposed for an embedding, whose PEFT
    factors are A: r x vocab, B: dim x r), computed in float32."""

    a: torch.Tensor
    b: torch.Tensor
    r: int
    alpha: float
    scale: float
    embedding: bool = False
    own: torch.Tensor | None = None  # an embedding's weights as saved with the adapter
    bias: torch.Tensor | None = None  # lora_B's bias (lora_bias)

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.b.shape[0], self.a.shape[1]
        return (cols, rows) if self.embedding else (rows, cols)

    def delta(self) -> torch.Tensor:
        d = (self.b.float() @ self.a.float()) * self.scale
        return d.T if self.embedding else d

    def bias_delta(self) -> torch.Tensor:
        return self.bias.float() * self.scale


@dataclass
class Adapter:
    folder: Path
    config: dict
    modules: dict[str, LoraModule]  # target weight name -> its LoRA

    @property
    def biases(self) -> dict[str, LoraModule]:
        """Bias name -> the module whose lora_B bias adds to it (lora_bias adapters)."""
        return {
            n.removesuffix(".weight") + ".bias": m
            for n, m in self.modules.items()
            if m.bias is not None
        }

    @property
    def names(self) -> set[str]:
        """Every tensor of the model the adapter changes: adapted weights and biases."""
        return set(self.modules) | set(self.biases)

    def delta(self, name: str) -> torch.Tensor:
        if name in self.modules:
            return self.modules[name].delta()
        return self.biases[name].bias_delta()

    def summary(self) -> dict:
        scales = [m.scale for m in self.modules.values()]
        return {
            "r": self.config["r"],
            "alpha": self.config["lora_alpha"],
            "rslora": bool(self.config.get("use_rslora")),
            "ranks": sorted({m.r for m in self.modules.values()}),
            "scales": {"min": min(scales), "max": max(scales)},
            "rank_pattern": self.config.get("rank_pattern") or {},
            "alpha_pattern": self.config.get("alpha_pattern") or {},
            "modules": len(self.modules),
            "embeddings": sorted(n for n, m in self.modules.items() if m.embedding),
            "biases": sorted(self.biases),
        }


def rank_and_alpha(config: dict, module: str) -> tuple[int, float]:
    """The rank and alpha PEFT gives `module` (its name in the model): the first key of
    rank_pattern / alpha_pattern matching a dotted suffix of the name, as PEFT's own
    `get_pattern_key` resolves it, else the global r / lora_alpha."""
    from peft.utils.other import get_pattern_key

    ranks, alphas = config.get("rank_pattern") or {}, config.get("alpha_pattern") or {}
    r = ranks.get(get_pattern_key(ranks.keys(), module), config["r"])
    alpha = alphas.get(get_pattern_key(alphas.keys(), module), config["lora_alpha"])
    return r, alpha


def lora_variant(config: dict) -> str | None:
    """The PEFT LoRA variant `config` asks for, if any, from PEFT's own LoraConfig metadata."""
    import dataclasses

    from peft import LoraConfig

    for f in dataclasses.fields(LoraConfig):
        value = config.get(f.name)
        if f.name == "init_lora_weights" and value in f.metadata.get("lora_variants", ()):
            return f"init_lora_weights={value}"
        if f.metadata.get("is_lora_variant") and value:
            return f.name
    return None


def load_adapter(folder: str | Path) -> Adapter:
    folder = Path(folder)
    weights = folder / WEIGHTS
    # Both files there and well-formed (config bounds, weights header), else one line.
    config = check_adapter_folder(folder)
    if config.get("peft_type", "LORA") != "LORA":
        raise PlatypusError(f"{folder}: {config.get('peft_type')} adapters cannot be merged here")
    for key, why in UNSUPPORTED.items():
        if config.get(key):
            raise PlatypusError(f"{folder}: adapters with {key} cannot be merged here ({why})")
    variant = lora_variant(config)
    if variant:
        raise PlatypusError(
            f"{folder}: adapters with {variant} cannot be merged here (a LoRA variant whose "
            "merge is not scale * B @ A)"
        )
    parts: dict[str, dict] = {}
    for key, value in load_file(weights).items():
        suffix = next((s for s in FACTORS if key.endswith(s)), None)
        if suffix is None:
            raise PlatypusError(
                f"{weights}: {key} is not a LoRA factor (lora_A/lora_B/lora_embedding_A/B); "
                "cannot merge it"
            )
        role, embedding = FACTORS[suffix]
        module = key[: -len(suffix)].removeprefix(PREFIX)
        entry = parts.setdefault(module, {"embedding": set()})
        entry[role] = value
        entry["embedding"].add(embedding)
    modules = {}
    for module, p in sorted(parts.items()):
        where = f"{weights}: {module}"
        if "A" not in p or "B" not in p or len(p["embedding"]) != 1:
            raise PlatypusError(f"{where} has no complete lora_A/lora_B pair")
        a, b, embedding = p["A"], p["B"], p["embedding"].pop()
        r, alpha = rank_and_alpha(config, module)
        if a.dim() != 2 or b.dim() != 2:
            raise PlatypusError(f"{where}: {a.dim()}-d LoRA factors (convolutions) not supported")
        if a.shape[0] != r or b.shape[1] != r:
            raise PlatypusError(
                f"{where}: lora_A has rank {a.shape[0]}, lora_B {b.shape[1]}, the config "
                f"gives rank {r}"
            )
        scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
        bias = p.get("bias")
        if bias is not None and bias.shape != (b.shape[0],):
            raise PlatypusError(f"{where}: lora_B bias of shape {tuple(bias.shape)}")
        modules[module + ".weight"] = LoraModule(
            a, b, r, alpha, scale, embedding, p.get("own"), bias
        )
    if not modules:
        raise PlatypusError(f"{weights}: no lora_A/lora_B pairs found")
    return Adapter(folder, config, modules)


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
    adapter: Adapter,
    target,
    target_config: dict,
    base_config: dict | None,
    max_delta_ratio: float,
    base=None,
) -> Compatibility:
    """Is it sound to add the adapter's deltas to `target` (a Checkpoint)? `base`: the
    Checkpoint of the model the adapter was trained on, where it is at hand (the target itself
    for an adapter on its own base)."""
    own_weights(adapter, base)
    for name, module in adapter.biases.items():
        if name not in target.info or target.info[name].shape != tuple(module.bias.shape):
            raise PlatypusError(
                f"{adapter.folder}: lora_B of {name.removesuffix('.bias')} has a bias (lora_bias) "
                f"but {target.folder} has no {name} of shape {tuple(module.bias.shape)}"
            )
    problems = []
    if base_config is not None:
        for key in ARCH_FIELDS:
            if base_config.get(key) != target_config.get(key):
                problems.append(
                    f"{key}: adapter base {base_config.get(key)!r}, "
                    f"target {target_config.get(key)!r}"
                )
    missing = [n for n in adapter.modules if n not in target.info]
    if missing:
        problems.append(f"{len(missing)} adapted weights missing in the target, e.g. {missing[0]}")
    ratios = {}
    for name, module in adapter.modules.items():
        if name in missing:
            continue
        want = target.info[name].shape
        if module.shape != tuple(want):
            problems.append(f"{name}: adapter shape {module.shape}, target {want}")
            continue
        w = target.get(name).float()
        ratios[name] = float(module.delta().norm() / w.norm().clamp_min(1e-12))
    if ratios and max(ratios.values()) > max_delta_ratio:
        worst = max(ratios, key=ratios.get)
        problems.append(
            f"delta too large: ||delta||/||W|| = {ratios[worst]:.3f} at {worst} "
            f"(limit {max_delta_ratio})"
        )
    return Compatibility(not problems, problems, ratios)


def own_weights(adapter: Adapter, base) -> None:
    """PEFT saves an adapted embedding's weights with its LoRA and loads them over the base's.
    Equal to the base's, they change nothing; different (a resized or retrained vocabulary),
    the delta belongs to weights the output would not have: refused, not forceable."""
    if base is None:
        return
    for name, module in adapter.modules.items():
        if module.own is None or name not in base.info:
            continue
        theirs = base.get(name)
        if module.own.shape != theirs.shape or not torch.equal(module.own.float(), theirs.float()):
            raise PlatypusError(
                f"{adapter.folder}: the adapter carries its own copy of {name} (shape "
                f"{tuple(module.own.shape)}), not the base's {base.folder} weights (resized or "
                "retrained vocabulary?); merging its LoRA onto the base's would be wrong"
            )
