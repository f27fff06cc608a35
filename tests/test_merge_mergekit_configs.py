"""mergekit configurations read as they are: a corpus in the styles found on the Hub (per-model
weights and densities, tensor filters, gradients over the layers, the base listed among the
models, int8_mask, lambda, out_dtype), each merged by `platypus merge CONFIG.yml OUT` and by
mergekit 0.1.5's own `run_merge` on the same file, on tiny random Llamas of 5 layers (so
gradients interpolate); and what we do not support is refused in one line naming the key."""

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_merge import tiny_llama

from conftest import error_lines
from platypus.cli import main

pytest.importorskip("mergekit")

CORPUS = {
    "linear": """
merge_method: linear
models:
  - model: A
    parameters: {weight: 0.7}
  - model: B
    parameters: {weight: 0.3}
dtype: float32
""",
    "linear-filter-falls-through": """
merge_method: linear
models:
  - model: A
    parameters:
      weight: [{filter: self_attn, value: 0.9}]
  - model: B
parameters:
  weight: [{filter: mlp, value: 0.2}, {value: 0.6}]
dtype: float32
""",
    "linear-unnormalised-three": """
merge_method: linear
models:
  - {model: A, parameters: {weight: 0.5}}
  - {model: B, parameters: {weight: 0.3}}
  - {model: C, parameters: {weight: 0.4}}
parameters:
  normalize: false
dtype: float32
""",
    "linear-filtered-weights": """
merge_method: linear
models:
  - model: A
    parameters:
      weight:
        - filter: self_attn
          value: 0.8
        - filter: mlp
          value: 0.2
        - value: 0.5
  - model: B
    parameters:
      weight: 0.5
dtype: float32
""",
    "slerp-hub-gradients": """
merge_method: slerp
base_model: BASE
models:
  - model: BASE
  - model: A
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
dtype: float32
""",
    "slerp-scalar": """
merge_method: slerp
base_model: BASE
models:
  - model: BASE
  - model: B
parameters:
  t: 0.35
dtype: float32
""",
    "task-arithmetic-lambda": """
merge_method: task_arithmetic
base_model: BASE
models:
  - {model: A, parameters: {weight: 0.6}}
  - {model: B, parameters: {weight: 0.4}}
parameters:
  lambda: 0.8
dtype: float32
""",
    "task-arithmetic-weight-gradient": """
merge_method: task_arithmetic
base_model: BASE
models:
  - {model: A, parameters: {weight: [0.2, 1.0]}}
  - {model: B, parameters: {weight: [1.0, 0.5, 0.2]}}
dtype: float32
""",
    "ties-base-listed-int8": """
merge_method: ties
base_model: BASE
models:
  - model: BASE
  - model: A
    parameters: {density: 0.5, weight: 0.5}
  - model: B
    parameters: {density: 0.7, weight: 0.3}
parameters:
  normalize: true
  int8_mask: true
dtype: float32
""",
    "ties-density-gradient": """
merge_method: ties
base_model: BASE
models:
  - model: A
    parameters:
      weight: 1.0
      density: [0.2, 0.8]
  - model: B
    parameters:
      weight: 0.5
      density: [{filter: mlp, value: 0.4}, {value: 0.6}]
dtype: float32
""",
    "ties-shared-weight": """
merge_method: ties
base_model: BASE
models:
  - {model: A}
  - {model: B}
  - {model: C}
parameters:
  weight: 0.4
  density: 0.5
dtype: float32
""",
    "breadcrumbs": """
merge_method: breadcrumbs
base_model: BASE
models:
  - {model: A, parameters: {weight: 0.6, density: 0.5, gamma: 0.05}}
  - {model: B, parameters: {weight: 0.8, density: 0.7}}
dtype: float32
""",
    "breadcrumbs-ties": """
merge_method: breadcrumbs_ties
base_model: BASE
models:
  - {model: A, parameters: {weight: 0.6, density: 0.5}}
  - {model: B, parameters: {weight: 0.8, density: 0.3, gamma: 0.1}}
parameters: {normalize: true}
dtype: float32
""",
    "model-stock": """
merge_method: model_stock
base_model: BASE
models:
  - model: A
  - model: B
  - model: C
dtype: float32
""",
    "model-stock-filter-wise": """
merge_method: model_stock
base_model: BASE
models: [{model: A}, {model: B}, {model: C}]
parameters: {filter_wise: true}
dtype: float32
""",
    "nuslerp": """
merge_method: nuslerp
models:
  - {model: A, parameters: {weight: 0.3}}
  - {model: B, parameters: {weight: 0.7}}
parameters: {nuslerp_row_wise: true}
dtype: float32
""",
    "multislerp-with-base": """
merge_method: multislerp
base_model: BASE
models:
  - {model: A, parameters: {weight: 1.0}}
  - {model: B, parameters: {weight: 0.5}}
  - {model: C, parameters: {weight: 0.25}}
dtype: float32
""",
    "karcher": """
merge_method: karcher
models: [{model: A}, {model: B}, {model: C}]
parameters: {max_iter: 20, tol: 1.0e-6}
dtype: float32
""",
    "sce": """
merge_method: sce
base_model: BASE
models: [{model: BASE}, {model: A}, {model: B}]
parameters: {select_topk: 0.4}
dtype: float32
""",
    "nearswap": """
merge_method: nearswap
base_model: BASE
models: [{model: BASE}, {model: A}]
parameters:
  t: [0.0001, 0.01]
dtype: float32
""",
    "arcee-fusion": """
merge_method: arcee_fusion
base_model: BASE
models: [{model: BASE}, {model: B}]
out_dtype: float32
dtype: float32
""",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-5")
    base = tiny_llama(root / "base", 0, layers=5)
    return {"BASE": base, **{k: tiny_llama(root / k, s, base, layers=5)
                             for s, k in enumerate("ABC", 1)}}  # fmt: skip


def written_config(tmp_path, text: str, models: dict):
    """A mergekit config's text with the model names (A, BASE, ...) replaced by their folders,
    written as config.yml."""
    for name, folder in models.items():
        for key in ("model: ", "base_model: ", "{model: "):
            text = text.replace(f"{key}{name}", f"{key}{folder}")
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def assert_refused_in_one_line(tmp_path, models: dict, text: str, expected: str, capsys):
    """`platypus merge CONFIG OUT` on the config exits 2 with one line holding `expected`, and
    no output folder is made."""
    path = written_config(tmp_path, text, models)
    code = main(["merge", str(path), str(tmp_path / "out")])
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1 and expected in errors[0], errors
    assert not (tmp_path / "out").exists()


def test_the_corpus_has_the_styles_the_issue_names():
    assert len(CORPUS) >= 15
    methods = {yaml.safe_load(t)["merge_method"] for t in CORPUS.values()}
    assert {"linear", "slerp", "ties", "model_stock", "breadcrumbs"} <= methods


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_mergekit_config_merges_as_mergekit_merges_it(tmp_path, tiny, name):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    path = written_config(tmp_path, CORPUS[name], tiny)
    theirs = tmp_path / "mergekit"
    config = yaml.safe_load(path.read_text())
    run_merge(MergeConfiguration.model_validate(config), str(theirs),
              MergeOptions(copy_tokenizer=False, write_model_card=False, quiet=True))  # fmt: skip
    ours = tmp_path / "ours"
    assert main(["merge", str(path), str(ours)]) == 0
    want, got = load_file(theirs / "model.safetensors"), load_file(ours / "model.safetensors")
    base = load_file(tiny["BASE"] / "model.safetensors")
    assert got.keys() == want.keys()
    changed = 0
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=1e-5), (name, k)
        changed += not torch.equal(got[k], base[k])
    assert changed > len(want) // 2, name  # the merge did something


REFUSED = {
    "modules": ("merge_method: passthrough\nmodules:\n  decoder:\n    slices: []\n",
                "modules: per-module definitions are not supported yet"),
    "tokenizer": ("merge_method: linear\nmodels: [{model: A}, {model: B}]\n"
                  "tokenizer: {source: union}\n", "tokenizer: a tokenizer definition"),
    "chat template name": ("merge_method: linear\nmodels: [{model: A}, {model: B}]\n"
                           "chat_template: nosuch\n", "chat_template 'nosuch': no such named"),
    "unknown key": ("merge_method: linear\nmodels: [{model: A}, {model: B}]\nmerge_speed: 2\n",
                    "merge_speed: not a key of mergekit's merge configuration"),
    "model+missing adapter": ("merge_method: linear\nmodels: [{model: A+/no/such/lora}, "
                              "{model: B}]\n", "adapter /no/such/lora: not a local adapter"),
    "unknown parameter": ("merge_method: ties\nbase_model: BASE\nmodels:\n  - model: A\n"
                          "    parameters: {weight: 1, densty: 0.5}\n",
                          "models[0].parameters has no parameter 'densty'"),
    "bad setting": ("merge_method: linear\nmodels:\n  - model: A\n    parameters:\n"
                    "      weight: [{filter: mlp, val: 1}]\n  - model: B\n",
                    "a filter entry is {filter, value}"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_is_not_supported_is_refused_in_one_line(tmp_path, tiny, case, capsys):
    assert_refused_in_one_line(tmp_path, tiny, *REFUSED[case], capsys)


# auto (the inputs' most common template) in the default suite; a template name and Jinja text,
# set the same way, in the slow set.
@pytest.mark.parametrize("template", [
    pytest.param("chatml", marks=pytest.mark.slow),
    "auto",
    pytest.param("{% for m in messages %}{{ m.content }}{% endfor %}", marks=pytest.mark.slow),
])  # fmt: skip
def test_chat_template_is_set_as_mergekit_sets_it(tmp_path, tiny, template):
    """With tokenizers in the inputs (SmolLM2's, whose template is ChatML-like): a mergekit
    template name, auto (the inputs' most common) or Jinja text, as mergekit's tokenizer gets
    it (mergekit needs tokenizer_source: base to write one)."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge
    from transformers import AutoTokenizer

    from platypus.models import prepared_path

    models = {}
    tokenizer = AutoTokenizer.from_pretrained(prepared_path())
    for seed, name in enumerate(("A", "B")):  # a vocabulary as large as the tokenizer's
        folder = tiny_llama(tmp_path / name, seed, vocab=len(tokenizer))
        tokenizer.save_pretrained(folder)
        models[name] = folder
    text = yaml.safe_dump({"merge_method": "linear", "tokenizer_source": "base",
                           "base_model": str(models["A"]), "chat_template": template,
                           "models": [{"model": str(f), "parameters": {"weight": 0.5}}
                                      for f in models.values()],
                           "dtype": "float32"})  # fmt: skip
    path = tmp_path / "config.yml"
    path.write_text(text)
    theirs = tmp_path / "mergekit"
    run_merge(MergeConfiguration.model_validate(yaml.safe_load(text)), str(theirs),
              MergeOptions(write_model_card=False, quiet=True))  # fmt: skip
    ours = tmp_path / "ours"
    assert main(["merge", str(path), str(ours)]) == 0
    want = AutoTokenizer.from_pretrained(theirs).chat_template
    got = AutoTokenizer.from_pretrained(ours).chat_template
    assert got == want and got
    if template == "chatml":
        assert got != AutoTokenizer.from_pretrained(models["A"]).chat_template
