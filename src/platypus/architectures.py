"""A model's architecture as the planner and `batch_size: auto` need it (a Llama-style decoder):
from its config.json (the packaged SmolLM2, a folder, a hub id the hub cache holds), or a
built-in table of Llama-2 7B/13B/70B so the paper's hub ids plan offline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from platypus.errors import PlatypusError


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
