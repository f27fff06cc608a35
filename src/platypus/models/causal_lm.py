"""Resolve and load causal language models: the packaged SmolLM2, a local folder or a hub id."""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.models.remote_code import check_custom_code
from platypus.models.smollm2 import SMOLLM2_HUB_ID, prepared_path

DEFAULT_CAUSAL_LM = "smollm2"
_SMOLLM2_ALIASES = {None, "", "smollm2", "SmolLM2-135M-Instruct", SMOLLM2_HUB_ID}
# "name" or "owner/name" as the hub spells repository ids; anything else can only be a folder.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "ON", "YES", "TRUE"}


def _offline_setting() -> str | None:
    """The variable that keeps the hub offline, as `NAME=value`; None when online."""
    for var in _OFFLINE_VARS:
        value = os.environ.get(var, "")
        if value.strip().upper() in _TRUE:
            return f"{var}={value}"
    from huggingface_hub import constants

    return "HF_HUB_OFFLINE=1" if constants.HF_HUB_OFFLINE else None


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:  # not a valid repository id after all
        return False


def resolve_causal_lm(name_or_path: str | Path | None) -> str:
    """The packaged SmolLM2 for its aliases (offline); an existing folder, or a hub id the hub
    (or, offline, its cache) can serve, passes through. Anything else is a one-line error."""
    if name_or_path in _SMOLLM2_ALIASES:
        return str(prepared_path())
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        return name
    if path.exists():
        raise PlatypusError(f"model {name}: a file, not a model folder")
    if not _HUB_ID.fullmatch(name):
        raise PlatypusError(f"model {name}: not a local model folder (no such folder)")
    offline = _offline_setting()
    if offline and not _in_hub_cache(name):
        raise PlatypusError(f"model {name}: not a local folder and the hub is offline ({offline})")
    return name


def load_causal_lm(
    name_or_path: str | Path | None = None,
    dtype=None,
    compute=None,
    trust_remote_code: bool | None = None,
):
    """(model, tokenizer) in eval mode. Without `compute`: fp32 (or `dtype`) on the CPU, as
    always. `compute` (a `ComputeSettings` or a resolved `platypus.compute.Policy`): that
    policy's device, weight dtype, bitsandbytes quantisation, attention implementation and
    accelerate device map; the policy used is on `model.platypus_compute`. A folder that ships
    its own code is refused unless `trust_remote_code` (default: the policy's opt-in) allows it
    (platypus.models.remote_code)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    policy = None
    if compute is not None:
        from platypus.compute import resolve

        policy = resolve(compute)
        kwargs = policy.load_kwargs()
        if dtype is not None:
            kwargs["dtype"] = dtype
    else:
        kwargs = {"dtype": dtype or torch.float32}
    path = resolve_causal_lm(name_or_path)
    if trust_remote_code is None:
        trust_remote_code = bool(policy is not None and policy.trust_remote_code)
    custom_code = check_custom_code(path, trust_remote_code)
    folder = Path(path).expanduser()
    if folder.is_dir() and not (folder / "config.json").is_file():
        hint = (
            " (a PEFT adapter: pass it as `adapter`)"
            if (folder / "adapter_config.json").is_file()
            else ""
        )
        raise PlatypusError(f"model {name_or_path}: no config.json in this folder{hint}")
    if folder.is_dir():
        check_weights_match_config(folder, name_or_path, trust_remote_code)
        kwargs["use_safetensors"] = True  # never a pickle, never random weights in its place
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            path, trust_remote_code=trust_remote_code, **kwargs
        )
    # missing files, unknown repo or architecture; shapes that disagree with the config
    except (OSError, ValueError, RuntimeError, MemoryError) as exc:
        lines = str(exc).strip().splitlines()
        raise PlatypusError(
            f"model {name_or_path}: could not load ({lines[0] if lines else type(exc).__name__})"
        ) from None
    if policy is not None:
        if "device_map" not in kwargs and policy.device != "cpu":
            model = model.to(policy.device)
        policy.custom_code = custom_code
        model.platypus_compute = policy
    if "quantization_config" in kwargs:
        own_file_backed_weights(model)
    model.eval()
    return model, tokenizer


def own_file_backed_weights(model) -> int:
    """Copy a quantised model's full-precision CPU weights (embeddings, norms, LM head) out of the
    checkpoint's memory map, then return the heap the quantisation freed; the number of
    tensors copied.

    transformers leaves weights loaded in their stored dtype as views of the safetensors file,
    so the whole mapping stays alive, and with it every page the quantisation read: a 4-bit
    ~1.1B Llama held 3.8 GB of file pages and 0.8 GB of freed heap after loading for 1.0 GB of
    weights (4.9 GB resident; 1.45 GB after this). Quantised weights (bitsandbytes' parameter
    subclasses) are already the model's own memory."""
    import torch

    from platypus.memory import release_free_memory

    copied = 0
    for param in model.parameters():  # a tied weight comes once
        if type(param) is torch.nn.Parameter and param.device.type == "cpu":
            param.data = param.data.clone()
            copied += 1
    gc.collect()
    release_free_memory()
    return copied


def keep_4bit_layers_differentiable(model) -> int:
    """Keep bitsandbytes' 4-bit layers on their autograd path for training; the number of layers
    touched.

    On a CPU with AVX-512 bf16 instructions, bitsandbytes (0.48 and later) repacks a 4-bit
    layer's weights into a CPU-only layout the first time the layer runs in eval mode on an
    input that needs no gradient (a held-out loss, say), and from then on every matmul of that
    layer, training ones included, goes through `gemv_4bit`, which has no backward: the
    gradient through the frozen 4-bit layers is silently lost and QLoRA's adapters learn
    almost nothing (held-out loss 1.983 -> 1.958 in 8 steps, against 1.981 -> 1.692 on a CPU
    without those instructions). A model being trained keeps the autograd layout: the repack
    is switched off and any layer already repacked is converted back. Inference-only loads
    keep bitsandbytes' faster layout."""
    try:
        from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse
        from bitsandbytes.nn import Linear4bit
    except ImportError:  # no bitsandbytes: no 4-bit layers either
        return 0
    touched = 0
    for module in model.modules():
        if not isinstance(module, Linear4bit):
            continue
        module.support_avx512bf16_for_cpu = False
        state = getattr(module.weight, "quant_state", None)
        if getattr(state, "packing_format_for_cpu", False):
            module.weight.data, module.weight.quant_state = _convert_weight_packed_for_cpu_inverse(
                module.weight.data, state
            )
        touched += 1
    return touched


# The files of a model folder besides its weights that change what loading it gives.
MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json",
               "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
               "tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja",
               "chat_template.json", "adapter_config.json")  # fmt: skip


def model_identity(path: str | Path) -> str:
    """A model folder's weights fingerprint plus one hash over its other loaded files (config,
    tokenizer, chat template) and any code it ships; a hub id as it is. An edited
    `config.json` (say `rope_theta`) or tokenizer is another model, as edited weights are."""
    import hashlib

    from platypus.hashing import file_sha256, weights_fingerprint
    from platypus.models.remote_code import custom_code_modules

    folder = Path(path)
    if not folder.is_dir():
        return str(path)
    names = [n for n in MODEL_FILES if (folder / n).is_file()]
    names += [m for m in custom_code_modules(folder) if (folder / m).is_file()]
    files = hashlib.sha256()
    for name in names:
        files.update(f"{name}\0{file_sha256(folder / name)}\n".encode())
    return f"{weights_fingerprint(folder)}+files-{files.hexdigest()[:16]}"


def check_weights_match_config(folder: Path, name, trust_remote_code: bool = False) -> None:
    """A local model's safetensors weights exist and hold about as many values as its
    config.json describes, checked before anything is allocated: a folder with only pickles
    (pytorch_model.bin, never loaded) or none would otherwise get randomly initialised weights,
    and a config claiming a vocabulary of 2**31 an allocation of hundreds of GB."""
    import math

    import torch
    from safetensors import SafetensorError, safe_open
    from transformers import AutoConfig, AutoModelForCausalLM

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        pickles = sorted(p.name for p in folder.glob("*.bin")) + sorted(
            p.name for p in folder.glob("*.pt")
        )
        found = f" (only {', '.join(pickles)}: pickles are never loaded)" if pickles else ""
        raise PlatypusError(f"model {name}: no safetensors weights in the folder{found}")
    stored = 0
    try:
        for f in files:
            with safe_open(f, "pt") as handle:
                for key in handle.keys():  # noqa: SIM118 (a safe_open handle, not a dict)
                    stored += math.prod(handle.get_slice(key).get_shape())
    except (SafetensorError, OSError) as exc:
        raise PlatypusError(f"model {name}: unreadable weights ({str(exc)[:200]})") from None
    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise PlatypusError(f"model {name}: config.json could not be read ({first})") from None
    expected = sum(p.numel() for p in skeleton.parameters())
    # Generous: packed 4-bit checkpoints store half the values, tied weights once.
    if expected > 4 * stored:
        raise PlatypusError(
            f"model {name}: config.json describes {expected:,} parameters but the weights hold "
            f"{stored:,} values; the config does not belong to these weights"
        )
