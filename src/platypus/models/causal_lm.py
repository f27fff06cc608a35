"""Resolve and load causal language models: the packaged SmolLM2, a local folder or a hub id."""

from __future__ import annotations

from pathlib import Path

from platypus.models.smollm2 import SMOLLM2_HUB_ID, prepared_path

DEFAULT_CAUSAL_LM = "smollm2"
_SMOLLM2_ALIASES = {None, "", "smollm2", "SmolLM2-135M-Instruct", SMOLLM2_HUB_ID}


def resolve_causal_lm(name_or_path: str | Path | None) -> str:
    """The packaged SmolLM2 for its aliases (offline); anything else passes through."""
    if name_or_path in _SMOLLM2_ALIASES:
        return str(prepared_path())
    return str(name_or_path)


def load_causal_lm(name_or_path: str | Path | None = None, dtype=None):
    """(model, tokenizer) in eval mode. fp32 by default: callers opt into bf16."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_causal_lm(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    model.eval()
    return model, tokenizer
