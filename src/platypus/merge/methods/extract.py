"""extract-lora: a rank-r LoRA of (fine-tune - base), written as a PEFT adapter folder.

Per linear module, the truncated SVD of delta = U S V^T keeps the r largest singular values:
B = U_r sqrt(S_r), A = sqrt(S_r) V_r^T with lora_alpha = r (scale 1), so B @ A is the best
rank-r approximation of delta (Eckart-Young: its Frobenius error is sqrt(sum of the dropped
s_i^2)). The card records, per module, the energy kept: sum of kept s_i^2 / sum of all s_i^2.
Tensors that differ outside the extracted modules (norms, embeddings) cannot be carried by
the LoRA: the card lists them.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from platypus.errors import PlatypusError
from platypus.merge.methods.base import MergeMethod, Parameter

if TYPE_CHECKING:
    import torch

    from platypus.merge.config import MergeConfig

ADAPTER_WEIGHTS = "adapter_model.safetensors"


def low_rank(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(A, B, singular values) with B @ A the best rank-`rank` approximation of `delta`."""
    import torch

    u, s, vh = torch.linalg.svd(delta.float(), full_matrices=False)
    root = s[:rank].sqrt()
    return root[:, None] * vh[:rank], u[:, :rank] * root, s


def linear_weights(folder: Path, trust_remote_code: bool = False) -> set[str]:
    """Names of the weights of nn.Linear modules of the model in `folder`, from its
    architecture built on the meta device (no weights read). A folder that ships its own code
    is refused without `trust_remote_code` (platypus.models.remote_code)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from platypus.models.remote_code import check_custom_code

    check_custom_code(folder, trust_remote_code, "base_model")
    config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    return {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


def _matches(module: str, targets: list[str]) -> bool:
    # PEFT's rule for a list of target_modules: the whole name or a dotted suffix of it.
    return any(module == t or module.endswith(f".{t}") for t in targets)


class ExtractLora(MergeMethod):
    name = "extract-lora"
    summary = "rank-r LoRA of (fine-tune - base) by truncated SVD, as a PEFT adapter"
    needs_base = True
    min_models = max_models = 1
    parameters = (
        Parameter("rank", 16, help="the LoRA's rank (lower where a weight is smaller)"),
        Parameter(
            "target_modules",
            None,
            help="module names to extract (None: every linear)",
            is_list=True,
        ),  # fmt: skip
    )

    def run(self, config: MergeConfig, out: Path) -> tuple[Path | None, dict]:
        from platypus.hashing import file_sha256
        from platypus.merge.folders import model_folder, weight_hashes
        from platypus.merge.references import open_folder

        settings = self.settings(config)
        rank, targets = settings["rank"], settings["target_modules"]
        base_folder = model_folder(config.base_model, "base_model")
        tuned_folder = model_folder(config.models[0].model, "models")
        base, tuned = open_folder(base_folder), open_folder(tuned_folder)  # hub cache links too
        if base.info.keys() != tuned.info.keys():
            diff = sorted(set(base.info) ^ set(tuned.info))
            raise PlatypusError(
                f"{tuned_folder} and {base_folder} differ in tensors, e.g. {diff[0]}"
            )
        linear = linear_weights(base_folder, config.compute.trust_remote_code)
        chosen = [
            n
            for n in base.info
            if n in linear and (targets is None or _matches(n.removesuffix(".weight"), targets))
        ]
        if targets is not None and not chosen:
            raise PlatypusError(f"target_modules {targets} match no linear module of {base_folder}")
        factors, energy, ranks, unchanged, outside = _factors(
            base, tuned, tuned_folder, chosen, rank
        )
        if not factors:
            raise PlatypusError(f"{tuned_folder}: no extracted module differs from {base_folder}")
        modules = _write_adapter(out, factors, ranks, rank, base_folder, config.dtype)
        kept = list(energy.values())
        card = {
            "inputs": [
                {
                    "role": "base",
                    "path": str(base_folder),
                    "sha256": weight_hashes(base_folder, base),
                },
                {
                    "role": "model",
                    "path": str(tuned_folder),
                    "sha256": weight_hashes(tuned_folder, tuned),
                },
            ],
            "extraction": {
                "rank": rank,
                "modules": len(modules),
                "energy_kept": {
                    "min": min(kept),
                    "median": statistics.median(kept),
                    "mean": statistics.fmean(kept),
                },
                "per_module": {m: {"rank": ranks[m], "energy_kept": energy[m]} for m in modules},
                "unchanged": len(unchanged),
                "not_extracted": outside,  # differ from the base, but the LoRA leaves them out
                "adapter_sha256": file_sha256(out / ADAPTER_WEIGHTS),
            },
        }
        return None, card


def _factors(base, tuned, tuned_folder, chosen: list[str], rank: int):
    """The LoRA factors of every chosen weight the fine-tune changed, the share of the change's
    energy (squared singular values) each keeps and its rank; the unchanged weights and the
    changed ones the LoRA leaves out."""
    import torch

    from platypus.progress import progress

    factors: dict[str, torch.Tensor] = {}
    energy: dict[str, float] = {}
    ranks: dict[str, int] = {}
    unchanged, outside = [], []
    for name in progress(list(base.info), desc="extract-lora", unit=" tensors", disable=None):
        b, t = base.get(name), tuned.get(name)
        if b.shape != t.shape:
            raise PlatypusError(
                f"{tuned_folder}: {name} has shape {tuple(t.shape)}, the base's {tuple(b.shape)}"
            )
        if torch.equal(b, t):
            unchanged.append(name)
            continue
        if name not in chosen:
            outside.append(name)
            continue
        module = name.removesuffix(".weight")
        a, bb, s = low_rank(t.float() - b.float(), rank)
        total = float((s.double() ** 2).sum())
        energy[module] = float((s[:rank].double() ** 2).sum()) / total if total else 1.0
        ranks[module] = a.shape[0]
        factors[f"base_model.model.{module}.lora_A.weight"] = a.contiguous()
        factors[f"base_model.model.{module}.lora_B.weight"] = bb.contiguous()
    return factors, energy, ranks, unchanged, outside


def _write_adapter(out: Path, factors: dict, ranks: dict[str, int], rank: int, base_folder,
                   dtype: str | None) -> list[str]:  # fmt: skip
    """The factors as a PEFT adapter in `out`; the modules it adapts."""
    from peft import LoraConfig
    from safetensors.torch import save_file

    from platypus.merge.folders import DTYPES, prepare_output

    prepare_output(out)
    for stale in (out / ADAPTER_WEIGHTS, out / "adapter_config.json"):
        stale.unlink(missing_ok=True)
    modules = sorted(ranks)
    # Smaller weights get their full rank: PEFT reads it from rank_pattern (regex keys,
    # escaped so a name matches only itself).
    small = {re.escape(m): r for m, r in ranks.items() if r != rank}
    LoraConfig(
        r=rank,
        lora_alpha=rank,
        rank_pattern=small,
        alpha_pattern={k: r for k, r in small.items()},
        target_modules=modules,
        base_model_name_or_path=str(base_folder),
        task_type="CAUSAL_LM",
    ).save_pretrained(str(out))
    if dtype:
        factors = {k: v.to(DTYPES[dtype]) for k, v in factors.items()}
    save_file(factors, out / ADAPTER_WEIGHTS, metadata={"format": "pt"})
    return modules


EXTRACT_LORA = ExtractLora()
