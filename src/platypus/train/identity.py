"""What identifies a training run: its base model's weights and files, and the hash a
checkpoint must carry to be resumed (the config as it identifies a result, the input's content,
the base, the chat template, what the host made of `bf16: auto`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from platypus.settings import result_config
from platypus.train.config import TrainConfig


def base_fingerprint(model: str | None) -> str:
    """The base model's weights fingerprint when it is a folder, else its hub id (what an
    adapter records of its base, so that a merge can tell another model of the same shapes)."""
    from platypus.hashing import weights_fingerprint
    from platypus.models import resolve_causal_lm

    path = resolve_causal_lm(model)
    return weights_fingerprint(path) if Path(path).is_dir() else path


def base_identity(model: str | None) -> str:
    """Everything of the base that changes what a run computes: its weights and the other
    files its load reads (config, tokenizer, chat template, shipped code); its hub id when it
    is not a folder. Checkpoints and stage keys are derived from it."""
    from platypus.models import model_identity, resolve_causal_lm

    return model_identity(resolve_causal_lm(model))


def config_hash(
    config: TrainConfig,
    input_sha256: str,
    base: str,
    chat_template: str | None = None,
    autocast: str | None = None,
) -> str:
    """What a checkpoint must match to be resumed: the config without settings and input paths,
    plus the content of those inputs (the training file's hash, the base weights' fingerprint,
    the chat template's hash when the examples are rendered by it) and, under `bf16: auto`,
    what the host made of it (a run moved to a host that decides otherwise starts afresh)."""
    ident = [result_config(config), input_sha256, base]
    if chat_template is not None:
        ident.append(chat_template)
    if config.bf16 == "auto":
        ident.append(f"autocast={autocast}")
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
