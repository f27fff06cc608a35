"""The packaged models load offline and behave like the real models they are."""

import json

import pytest
import torch

from platypus.errors import PlatypusError
from platypus.models import (
    MINILM_HUB_ID,
    SMOLLM2_HUB_ID,
    load_causal_lm,
    load_embedder,
    minilm,
    minilm_path,
    prepared_path,
    resolve_causal_lm,
    resolve_embedder,
)


def test_minilm_is_the_packaged_model_and_embeds_meaningfully(monkeypatch):
    assert resolve_embedder(MINILM_HUB_ID) == str(minilm_path()) == resolve_embedder(None)
    # A hub id passes through where the hub (or its cache) can serve it; offline, as here, one
    # that is not cached is refused in one line.
    with pytest.raises(PlatypusError, match="intfloat/e5-small: not a local folder"):
        resolve_embedder("intfloat/e5-small")
    monkeypatch.setattr(minilm, "_offline_setting", lambda: None)  # as when online
    assert resolve_embedder("intfloat/e5-small") == "intfloat/e5-small"
    model = load_embedder()
    emb = model.encode(
        ["What is the derivative of x squared?", "Differentiate x^2.", "Bake bread at 220 C."],
        normalize_embeddings=True,
        convert_to_tensor=True,
    )
    assert emb.shape == (3, 384)
    sims = emb @ emb.T
    assert sims[0, 1] > 0.6 > sims[0, 2]


def test_smollm2_converted_once_to_plain_safetensors(tmp_path):
    folder = prepared_path()
    assert (folder / "model.safetensors").is_file()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # weights were dequantised: a plain checkpoint
    assert prepared_path() == folder  # cached, not converted again
    assert resolve_causal_lm(SMOLLM2_HUB_ID) == str(folder) == resolve_causal_lm(None)
    assert resolve_causal_lm(str(tmp_path)) == str(tmp_path)  # an existing folder passes through


def test_smollm2_generates():
    model, tokenizer = load_causal_lm()
    assert model.dtype == torch.float32 and model.config.vocab_size == 49152
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=3, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids.shape[1] :])
