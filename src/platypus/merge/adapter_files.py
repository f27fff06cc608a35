"""A PEFT adapter folder, checked before PEFT or a merge reads it.

PEFT trusts `adapter_config.json` and `adapter_model.safetensors`: a config that is not JSON, a
list, `r: 0` (ZeroDivisionError), `lora_alpha: Infinity` (non-finite merged weights) or a
weights file declaring a 512 GB tensor (the allocation is attempted) all fail deep inside it,
or not at all. Here they are one line each, before any tensor is allocated.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from platypus.errors import PlatypusError

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
MAX_CONFIG_BYTES = 1 << 20
MAX_RANK = 65536


def _rank(value) -> bool:
    return type(value) is int and 1 <= value <= MAX_RANK


def _alpha(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value > 0


def read_adapter_config(folder: str | Path) -> dict:
    """The folder's adapter config, checked: a JSON mapping whose rank and alpha (global and
    per-pattern) are in range and whose names are what PEFT expects."""
    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise PlatypusError(f"{folder}: not a PEFT adapter (no {CONFIG})")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise PlatypusError(f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MiB")
    try:
        config = json.loads(path.read_bytes())
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise PlatypusError(f"{path}: not valid JSON") from None
    if not isinstance(config, dict):
        raise PlatypusError(f"{path}: not a mapping of settings")
    if not _rank(config.get("r")):
        raise PlatypusError(f"{path}: r must be a whole number from 1 to {MAX_RANK}")
    if not _alpha(config.get("lora_alpha", 8)):
        raise PlatypusError(f"{path}: lora_alpha must be a finite number above 0")
    for key, ok in (("rank_pattern", _rank), ("alpha_pattern", _alpha)):
        pattern = config.get(key) or {}
        if not isinstance(pattern, dict) or not all(
            isinstance(k, str) and ok(v) for k, v in pattern.items()
        ):
            raise PlatypusError(f"{path}: {key} must map module names to valid values")
    targets = config.get("target_modules")
    if not (targets is None or isinstance(targets, str) or (
        isinstance(targets, list) and all(isinstance(t, str) for t in targets)
    )):  # fmt: skip
        raise PlatypusError(f"{path}: target_modules must be a name or a list of names")
    base = config.get("base_model_name_or_path")
    if base is not None and not isinstance(base, str):
        raise PlatypusError(f"{path}: base_model_name_or_path must be a string")
    return config


def check_adapter_folder(folder: str | Path) -> dict:
    """The config (checked) after the weights file's header is checked against its size, dtype,
    shape and offsets (`read_header`); raises one line otherwise."""
    from platypus.merge.tensors import read_header

    folder = Path(folder)
    config = read_adapter_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise PlatypusError(f"{folder}: not a PEFT adapter (no {WEIGHTS})")
    header, _ = read_header(weights)
    targets = config.get("target_modules")
    if isinstance(targets, list):  # (a string is a regular expression or "all-linear")
        # PEFT's rule: a module is adapted when its name or a dotted suffix is a target
        modules = {n.split(".lora_")[0] for n in header if ".lora_" in n}
        strays = sorted(m for m in modules
                        if not any(m == t or m.endswith(f".{t}") for t in targets))  # fmt: skip
        if strays:
            raise PlatypusError(
                f"{folder / CONFIG}: target_modules {targets[:8]} do not name the modules its "
                f"weights adapt (e.g. {strays[0]})"
            )
    return config
