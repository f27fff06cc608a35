"""Model loading: packaged defaults that work offline, hub ids for users with internet."""

from platypus.models.causal_lm import (
    DEFAULT_CAUSAL_LM,
    keep_4bit_layers_differentiable,
    load_causal_lm,
    model_identity,
    resolve_causal_lm,
)
from platypus.models.minilm import MINILM_HUB_ID, load_embedder, minilm_path, resolve_embedder
from platypus.models.smollm2 import SMOLLM2_HUB_ID, gguf_path, prepared_path

__all__ = [
    "DEFAULT_CAUSAL_LM",
    "MINILM_HUB_ID",
    "SMOLLM2_HUB_ID",
    "gguf_path",
    "keep_4bit_layers_differentiable",
    "load_causal_lm",
    "load_embedder",
    "minilm_path",
    "model_identity",
    "prepared_path",
    "resolve_causal_lm",
    "resolve_embedder",
]
