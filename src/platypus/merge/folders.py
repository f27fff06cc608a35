"""The model folders a merge reads and the output folder it writes."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from platypus.hashing import file_sha256
from platypus.merge.tensors import INDEX, Checkpoint, TensorInfo

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def model_folder(name: str | None, what: str) -> Path:
    """The model folder `name` names (None: SmolLM2): a local or stage folder, or a hub id
    through the hub cache (`platypus.merge.references`); `what` names the setting in errors."""
    from platypus.merge.references import model_folder as resolve

    return resolve(name, what)


def model_config(folder: Path) -> dict:
    path = folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def out_dtype(dtype: str | None, info: TensorInfo) -> torch.dtype:
    """The output dtype of a tensor: `dtype` for floating-point ones, else the input's."""
    if not info.dtype.is_floating_point:
        return info.dtype
    return DTYPES[dtype] if dtype else info.dtype


def prepare_output(out: Path) -> None:
    if out.exists():
        # A stale shard from an earlier merge must not sit beside the new weights.
        for f in out.glob("*.safetensors"):
            f.unlink()
        (out / INDEX).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def weight_hashes(folder: Path, ckpt: Checkpoint | None = None) -> dict:
    files = ckpt.files_on_disk() if ckpt else sorted(folder.glob("*.safetensors"))
    return {f.name: file_sha256(f) for f in files}
