"""mergekit's `slices` (layer ranges of models stacked, the Hub's "frankenmerges") and the
`passthrough` method: configurations in the Hub's styles merged by `platypus merge CONFIG.yml
OUT` and by mergekit 0.1.5's own `run_merge` on the same file, on tiny random Llamas of 4
layers; the outputs have the same tensors, the same layer count and load in transformers. What
cannot be sliced is refused in one line."""

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_merge import tiny_llama
from test_merge_mergekit_configs import assert_refused_in_one_line, written_config

from platypus.cli import main
from platypus.hashing import file_sha256

pytest.importorskip("mergekit")

CORPUS = {
    # [0, 3) of A then [1, 4) of B: 6 layers, the overlap twice (Goliath's style)
    "passthrough-overlapping": """
merge_method: passthrough
slices:
  - sources:
      - model: A
        layer_range: [0, 3]
  - sources:
      - model: B
        layer_range: [1, 4]
dtype: float32
""",
    # one model's ranges with repetition (a self-stack, SOLAR's depth up-scaling style)
    "passthrough-self-repeated": """
slices:
  - sources:
    - model: A
      layer_range: [0, 2]
  - sources:
    - model: A
      layer_range: [1, 3]
  - sources:
    - model: A
      layer_range: [1, 4]
merge_method: passthrough
dtype: float32
""",
    # repeated layers with their output projections scaled (the "scaled" self-merges), a
    # source's filters and a slice's value
    "passthrough-scale-filters": """
merge_method: passthrough
slices:
  - sources:
      - model: A
        layer_range: [0, 3]
  - sources:
      - model: A
        layer_range: [2, 3]
        parameters:
          scale:
            - filter: o_proj
              value: 0.0
            - filter: down_proj
              value: 0.0
            - value: 1.0
  - sources:
      - model: B
        layer_range: [2, 4]
    parameters:
      scale: [0.5, 1.5]
dtype: float32
""",
    # the Hub's usual slerp: one slice of both models, t gradients filtered by module
    "slerp-slice-gradients": """
slices:
  - sources:
      - model: BASE
        layer_range: [0, 4]
      - model: A
        layer_range: [0, 4]
merge_method: slerp
base_model: BASE
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
dtype: float32
""",
    # slerp slice by slice: each slice its own t gradient (over its own layers), the base's
    # range shifted in the second
    "slerp-per-slice-t": """
merge_method: slerp
base_model: BASE
slices:
  - sources:
      - {model: BASE, layer_range: [0, 2]}
      - {model: B, layer_range: [0, 2]}
    parameters:
      t: [0.1, 0.9]
  - sources:
      - {model: B, layer_range: [2, 4]}
      - {model: BASE, layer_range: [1, 3]}
    parameters:
      t:
        - filter: mlp
          value: [0.8, 0.2]
parameters:
  t: 0.3
dtype: float32
""",
    # linear over slices of two models: per-source weights (a gradient, a filter), a slice's
    # normalize and the sources' ranges differing
    "linear-two-sources": """
merge_method: linear
slices:
  - sources:
      - model: A
        layer_range: [0, 2]
        parameters: {weight: 0.7}
      - model: B
        layer_range: [0, 2]
        parameters: {weight: 0.3}
  - sources:
      - model: A
        layer_range: [2, 4]
        parameters:
          weight: [0.2, 0.8]
      - model: B
        layer_range: [1, 3]
        parameters:
          weight: [{filter: self_attn, value: 0.9}, {value: 0.4}]
    parameters:
      normalize: false
dtype: float32
""",
    # the Hub's usual dtype: bfloat16 out of float32 models, copied (rounded once)
    "passthrough-bfloat16": """
merge_method: passthrough
slices:
  - sources: [{model: A, layer_range: [0, 2]}]
  - sources: [{model: C, layer_range: [1, 3]}]
  - sources: [{model: A, layer_range: [2, 4]}]
dtype: bfloat16
""",
    # a base_model named only as the config's source, the models' own dtype kept
    "passthrough-base-config": """
merge_method: passthrough
base_model: BASE
slices:
  - sources: [{model: B, layer_range: [0, 1]}]
  - sources: [{model: C, layer_range: [1, 4]}]
""",
    # task arithmetic over slices: the base among each slice's sources, lambda on one slice
    "task-arithmetic-slices": """
merge_method: task_arithmetic
base_model: BASE
slices:
  - sources:
      - {model: BASE, layer_range: [0, 2]}
      - {model: A, layer_range: [0, 2], parameters: {weight: 0.6}}
      - {model: B, layer_range: [0, 2], parameters: {weight: 0.4}}
  - sources:
      - {model: BASE, layer_range: [2, 4]}
      - {model: A, layer_range: [2, 4], parameters: {weight: 1.0}}
      - {model: B, layer_range: [2, 4], parameters: {weight: 0.5}}
    parameters: {lambda: 0.7}
dtype: float32
""",
    # ties over slices, densities per source and a slice's own
    "ties-slices": """
merge_method: ties
base_model: BASE
slices:
  - sources:
      - {model: BASE, layer_range: [0, 4]}
      - {model: A, layer_range: [0, 4], parameters: {weight: 0.6, density: [0.3, 0.9]}}
      - {model: C, layer_range: [0, 4], parameters: {weight: 0.4}}
    parameters: {density: 0.5}
dtype: float32
""",
    # a method whose base is optional (nuslerp's deltas from the base) over slices
    "nuslerp-slices-with-base": """
merge_method: nuslerp
base_model: BASE
slices:
  - sources:
      - {model: BASE, layer_range: [0, 3]}
      - {model: A, layer_range: [0, 3], parameters: {weight: 0.3}}
      - {model: B, layer_range: [1, 4], parameters: {weight: 0.7}}
dtype: float32
""",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-4")
    base = tiny_llama(root / "base", 0, layers=4)
    return {"BASE": base, **{k: tiny_llama(root / k, s, base, noise=0.05, layers=4)
                             for s, k in enumerate("ABC", 1)}}  # fmt: skip


def _mergekit(path, out):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    config = MergeConfiguration.model_validate(yaml.safe_load(path.read_text()))
    run_merge(config, str(out), MergeOptions(copy_tokenizer=False, write_model_card=False,
                                             quiet=True))  # fmt: skip


def test_the_corpus_has_the_styles_the_issue_names():
    configs = [yaml.safe_load(t) for t in CORPUS.values()]
    assert len(configs) >= 5 and all("slices" in c for c in configs)
    assert {"passthrough", "slerp", "linear"} <= {c["merge_method"] for c in configs}


@pytest.mark.parametrize("name", list(CORPUS))
def test_slices_merge_as_mergekit_merges_them(tmp_path, tiny, name):
    _same_as_mergekit(tmp_path, CORPUS[name], tiny)


def test_tied_embeddings_are_sliced_as_mergekit_slices_them(tmp_path):
    """A model whose head is its embeddings (SmolLM2's kind) has no lm_head tensor; mergekit
    skips it and so do we."""
    from transformers import LlamaConfig, LlamaForCausalLM

    models = {}
    for seed, name in enumerate("AB"):
        torch.manual_seed(seed)
        config = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128,
                             num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                             tie_word_embeddings=True)  # fmt: skip
        LlamaForCausalLM(config).save_pretrained(tmp_path / name)
        models[name] = tmp_path / name
    got = _same_as_mergekit(tmp_path, CORPUS["passthrough-overlapping"], models)
    assert "lm_head.weight" not in got


def _same_as_mergekit(tmp_path, text: str, models: dict) -> dict:
    """Merge `text` with mergekit and with us; the same tensors and layer count, and ours loads
    and runs in transformers. Our tensors."""
    from transformers import AutoModelForCausalLM

    path = written_config(tmp_path, text, models)
    theirs, ours = tmp_path / "mergekit", tmp_path / "ours"
    _mergekit(path, theirs)
    assert main(["merge", str(path), str(ours)]) == 0
    want, got = load_file(theirs / "model.safetensors"), load_file(ours / "model.safetensors")
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=1e-5), k
    layers = json.loads((ours / "config.json").read_text())["num_hidden_layers"]
    assert layers == json.loads((theirs / "config.json").read_text())["num_hidden_layers"]
    config = yaml.safe_load(text)
    assert layers == sum(b - a for a, b in (s["sources"][0]["layer_range"]
                                            for s in config["slices"]))  # fmt: skip
    layer0 = [k for k in load_file(models["A"] / "model.safetensors") if ".layers.0." in k]
    expected = {k.replace(".layers.0.", f".layers.{i}.") for k in layer0 for i in range(layers)}
    assert {k for k in got if ".layers." in k} == expected
    model = AutoModelForCausalLM.from_pretrained(ours)
    assert model.config.num_hidden_layers == layers == len(model.model.layers)
    with torch.no_grad():
        logits = model(torch.tensor([[1, 5, 9, 2]])).logits
    assert logits.shape == (1, 4, 256) and torch.isfinite(logits).all()
    return got


def test_a_passthrough_frankenmerge_stacks_the_sources_layers(tmp_path, tiny):
    """Independently of mergekit: output layer k is the named source's layer, renamed; the
    embeddings are the first slice's model's, the final norm and head the last slice's."""
    path = written_config(tmp_path, CORPUS["passthrough-overlapping"], tiny)
    assert main(["merge", str(path), str(tmp_path / "out")]) == 0
    got = load_file(tmp_path / "out" / "model.safetensors")
    a, b = (load_file(tiny[m] / "model.safetensors") for m in "AB")
    sources = [(a, 0), (a, 1), (a, 2), (b, 1), (b, 2), (b, 3)]
    for out_layer, (model, layer) in enumerate(sources):
        for name in [n for n in model if f".layers.{layer}." in n]:
            renamed = name.replace(f".layers.{layer}.", f".layers.{out_layer}.")
            assert torch.equal(got[renamed], model[name]), renamed
    assert torch.equal(got["model.embed_tokens.weight"], a["model.embed_tokens.weight"])
    assert torch.equal(got["model.norm.weight"], b["model.norm.weight"])
    assert torch.equal(got["lm_head.weight"], b["lm_head.weight"])
    assert len(got) == len(a) + 2 * len([n for n in a if ".layers.0." in n])
    card = json.loads((tmp_path / "out" / "merge.json").read_text())
    weights = tmp_path / "out" / "model.safetensors"
    assert card["output"] == {"model.safetensors": file_sha256(weights)}  # taken as written


def test_per_layer_config_lists_are_stacked(tmp_path, tiny):
    """A config's per-layer list (layer_types) follows the layers: output layer k takes its
    source layer's entry, so transformers loads it (its length is the layer count)."""
    from transformers import AutoModelForCausalLM

    for name in ("A", "B"):
        folder = tmp_path / name
        folder.mkdir()
        for f in tiny[name].iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        cfg = json.loads((folder / "config.json").read_text())
        cfg["layer_types"] = ["full_attention"] * 4
        cfg["layer_types"][3] = "sliding_attention"
        (folder / "config.json").write_text(json.dumps(cfg))
    text = CORPUS["passthrough-overlapping"]
    path = written_config(tmp_path, text, {"A": tmp_path / "A", "B": tmp_path / "B"})
    assert main(["merge", str(path), str(tmp_path / "out")]) == 0
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["num_hidden_layers"] == 6
    assert cfg["layer_types"] == ["full_attention"] * 5 + ["sliding_attention"]
    AutoModelForCausalLM.from_pretrained(tmp_path / "out")


REFUSED = {
    "sources of different lengths": (
        "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [0, 3]}\n"
        "      - {model: B, layer_range: [0, 2]}\n",
        "the sources of a slice take as many layers each; got 3, 2"),
    "layer range out of bounds": (
        "merge_method: passthrough\nslices:\n  - sources: [{model: A, layer_range: [0, 2]}]\n"
        "  - sources: [{model: B, layer_range: [2, 6]}]\n",
        "slices[1].sources[0]: layer_range [2, 6] is past the 4 layers of"),
    "passthrough of two sources": (
        "merge_method: passthrough\nslices:\n  - sources:\n"
        "      - {model: A, layer_range: [0, 2]}\n      - {model: B, layer_range: [0, 2]}\n",
        "slices[0]: merge method 'passthrough' merges exactly one source per slice; got 2"),
    "an empty layer range": (
        "merge_method: passthrough\nslices:\n  - sources: [{model: A, layer_range: [2, 2]}]\n",
        "[2, 2] holds no layer"),
    "slerp without the base in a slice": (
        "merge_method: slerp\nbase_model: BASE\nslices:\n  - sources:\n"
        "      - {model: A, layer_range: [0, 2]}\n      - {model: B, layer_range: [0, 2]}\n",
        "slices[0]: merge method 'slerp' merges onto base_model, which is to be one of each"),
    "models and slices": (
        "merge_method: passthrough\nmodels: [{model: A}]\n"
        "slices:\n  - sources: [{model: A, layer_range: [0, 2]}]\n",
        "slices: give models or slices, not both"),
    "a source's unknown parameter": (
        "merge_method: passthrough\nslices:\n  - sources:\n      - model: A\n"
        "        layer_range: [0, 2]\n        parameters: {weight: 0.5}\n",
        "slices[0].sources[0].parameters has no parameter 'weight' (it takes: scale)"),
    "residual_weight": (
        "merge_method: passthrough\nslices:\n  - sources: [{model: A, layer_range: [0, 2]}]\n"
        "    residual_weight: 0.5\n",
        "slices[0].residual_weight: a slice's own residual_weight is not supported"),
    "modules": ("merge_method: passthrough\nmodules:\n  text_decoder:\n    slices: []\n",
                "modules: per-module definitions are not supported yet"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_cannot_be_sliced_is_refused_in_one_line(tmp_path, tiny, case, capsys):
    assert_refused_in_one_line(tmp_path, tiny, *REFUSED[case], capsys)


def test_an_adapter_method_does_not_take_slices(tiny):
    from platypus.config import MergeConfig, validated
    from platypus.errors import PlatypusError

    source = {"model": str(tiny["A"]), "layer_range": [0, 2]}
    config = {"method": "adapter", "adapter": "x", "slices": [{"sources": [source]}]}
    with pytest.raises(PlatypusError, match="merge method 'adapter' does not merge slices"):
        validated(MergeConfig, config, "merge")


def test_passthrough_is_declared_as_mergekit_declares_it():
    from mergekit.merge_methods import registry
    from mergekit.merge_methods.base import ParameterScope

    from platypus.merge.methods import get

    spec, ours = registry.get("passthrough").spec, get("passthrough")
    assert (spec.contract.min_inputs, spec.contract.max_inputs) == (1, 1)
    assert (ours.min_models, ours.max_models, ours.needs_base) == (1, 1, False)
    (scale,) = spec.parameters
    assert scale.name == "scale" and scale.scope != ParameterScope.SHARED
    assert [(p.name, p.default, p.per_model) for p in ours.parameters] == [("scale", None, True)]


def test_passthrough_of_a_whole_model_scales_as_mergekit_does(tmp_path, tiny):
    text = ("merge_method: passthrough\nmodels:\n  - model: A\n    parameters:\n"
            "      scale: [{filter: mlp, value: 0.5}, {value: 2}]\ndtype: float32\n")  # fmt: skip
    path = written_config(tmp_path, text, tiny)
    _mergekit(path, tmp_path / "mergekit")
    assert main(["merge", str(path), str(tmp_path / "ours")]) == 0
    want = load_file(tmp_path / "mergekit" / "model.safetensors")
    got = load_file(tmp_path / "ours" / "model.safetensors")
    a = load_file(tiny["A"] / "model.safetensors")
    assert got.keys() == want.keys() == a.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k
        assert torch.equal(got[k], a[k] * (0.5 if ".mlp." in k else 2.0)), k
