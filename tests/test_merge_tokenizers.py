"""`tokenizer_source: union` and a model's tokenizer, merged by mergekit 0.1.5 and by us on tiny
random Llamas whose tokenizers differ: the same tensors, vocabulary and config vocab_size."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from test_merge import tiny_llama

from conftest import error_lines
from platypus.cli import main

pytest.importorskip("mergekit")

EXTRA = ["<platypus_x>", "<platypus_y>", "<platypus_z>"]


@pytest.fixture(scope="module")
def trio(tmp_path_factory):
    """A: SmolLM2's tokenizer; B: it plus two added tokens; C: it plus all three."""
    from transformers import AutoTokenizer

    from platypus.models import prepared_path

    root = tmp_path_factory.mktemp("vocab")
    models = {}
    for seed, (name, extra) in enumerate((("A", []), ("B", EXTRA[:2]), ("C", EXTRA))):
        tokenizer = AutoTokenizer.from_pretrained(prepared_path())
        if extra:
            tokenizer.add_tokens(extra)
        folder = tiny_llama(root / name, seed, vocab=len(tokenizer), layers=2)
        tokenizer.save_pretrained(folder)
        models[name] = folder
    return models


def _weights(folder):
    from safetensors.torch import load_file

    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out |= load_file(f)
    return out


def _both(tmp_path, config: dict):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    text = yaml.safe_dump(config | {"dtype": "float32"})
    path = tmp_path / "config.yml"
    path.write_text(text)
    theirs, ours = tmp_path / "mergekit", tmp_path / "ours"
    run_merge(MergeConfiguration.model_validate(yaml.safe_load(text)), str(theirs),
              MergeOptions(write_model_card=False, quiet=True))  # fmt: skip
    assert main(["merge", str(path), str(ours)]) == 0
    return theirs, ours


CASES = {
    # three models, base A: B's and C's shared tokens averaged, C's own copied, A's from B/C
    "union linear": lambda m: {"merge_method": "linear", "tokenizer_source": "union",
                               "base_model": str(m["A"]),
                               "models": [{"model": str(m[k]), "parameters": {"weight": w}}
                                          for k, w in (("A", 0.5), ("B", 0.3), ("C", 0.2))]},
    "union slerp": lambda m: {"merge_method": "slerp", "tokenizer_source": "union",
                              "base_model": str(m["A"]), "parameters": {"t": 0.4},
                              "models": [{"model": str(m["A"])}, {"model": str(m["C"])}]},
    "model B slerp": lambda m: {"merge_method": "slerp", "tokenizer_source": str(m["B"]),
                                "base_model": str(m["A"]), "parameters": {"t": 0.3},
                                "models": [{"model": str(m["A"])}, {"model": str(m["B"])}]},
    "model A linear": lambda m: {"merge_method": "linear", "tokenizer_source": str(m["A"]),
                                 "models": [{"model": str(m["C"]), "parameters": {"weight": 1}},
                                            {"model": str(m["A"]), "parameters": {"weight": 2}}]},
}  # fmt: skip


# The slerp cases (two models, the union and another model's tokenizer) run in the slow set: the
# linear ones cover both sources in the default suite.
SLOW_CASES = ("union slerp", "model B slerp")


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CASES else c for c in CASES]
)
def test_tokenizer_source_merges_as_mergekit_does(tmp_path, trio, case):
    from transformers import AutoTokenizer

    theirs, ours = _both(tmp_path, CASES[case](trio))
    want, got = _weights(theirs), _weights(ours)
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == want[k].shape, (k, got[k].shape, want[k].shape)
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=0), k
    vocab = AutoTokenizer.from_pretrained(theirs).get_vocab()
    assert AutoTokenizer.from_pretrained(ours).get_vocab() == vocab
    size = json.loads((theirs / "config.json").read_text())["vocab_size"]
    assert json.loads((ours / "config.json").read_text())["vocab_size"] == size == len(vocab)
    assert got["model.embed_tokens.weight"].shape[0] == size
    card = json.loads((ours / "merge.json").read_text())
    assert card["tokenizer"]["vocab_size"] == size


def test_union_fills_missing_rows(tmp_path, trio):
    """A lacks all three tokens: x and y (B and C have them, the base A not) are B's and C's
    mean, z (C's alone) is C's row; the merged row is then the weighted mean of those."""
    from transformers import AutoTokenizer

    _, ours = _both(tmp_path, CASES["union linear"](trio))
    vocab = AutoTokenizer.from_pretrained(ours).get_vocab()
    w = {k: _weights(trio[k])["model.embed_tokens.weight"] for k in "ABC"}
    ids = {k: AutoTokenizer.from_pretrained(trio[k]).get_vocab() for k in "BC"}
    merged = _weights(ours)["model.embed_tokens.weight"]
    x, z = EXTRA[0], EXTRA[2]
    bx, cx = w["B"][ids["B"][x]], w["C"][ids["C"][x]]
    mean = (bx + cx) / 2
    assert torch.allclose(merged[vocab[x]], 0.5 * mean + 0.3 * bx + 0.2 * cx, atol=1e-6)
    cz = w["C"][ids["C"][z]]
    assert torch.allclose(merged[vocab[z]], cz, atol=1e-6)


def test_tokenizer_source_with_slices_is_refused_in_one_line(tmp_path, trio, capsys):
    a, b = str(trio["A"]), str(trio["B"])
    config = {"merge_method": "passthrough", "tokenizer_source": "union",
              "slices": [{"sources": [{"model": a, "layer_range": [0, 1]}]},
                         {"sources": [{"model": b, "layer_range": [1, 2]}]}]}  # fmt: skip
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    code = main(["merge", str(path), str(tmp_path / "out")])
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1, errors
    assert "tokenizer_source 'union' with slices is not supported yet" in errors[0]
    assert not (tmp_path / "out").exists()


def test_tokenizer_source_on_an_adapter_merge_is_refused():
    from pydantic import ValidationError

    from platypus.config import MergeConfig

    with pytest.raises(ValidationError, match="merge method 'adapter' keeps its model's"):
        MergeConfig(method="adapter", tokenizer_source="union")
    assert MergeConfig(method="adapter", tokenizer_source="base").tokenizer_source == "base"
