"""Model references as mergekit has them: hub ids through the hub cache (an offline cache laid
out as huggingface_hub lays it out: `models--org--name/{blobs,snapshots/<commit>,refs/main}`,
the snapshot's files links into blobs), `MODEL+ADAPTER` with the adapter's LoRA added as each
tensor is read (equal to mergekit 0.1.5, which merges it with PEFT first), and our stage folders
(a merge's output, a training folder's adapter)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_merge import tiny_llama

from conftest import error_lines
from platypus.cli import main

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_cache_entry(cache: Path, repo_id: str, folder: Path, commit: str = COMMIT) -> Path:
    """`folder`'s files as huggingface_hub's cache holds a download of `repo_id` at `commit`."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for f in sorted(folder.iterdir()):
        if f.is_file():
            data = f.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.write_bytes(data)
            (snapshot / f.name).symlink_to(Path("..", "..", "blobs", blob.name))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny Llamas (base, a, b), a LoRA adapter on `a` with a non-zero delta (and the PEFT
    merge of the two), and a hub cache holding `a` as org/tiny-a and the adapter as
    org/tiny-lora."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    root = tmp_path_factory.mktemp("refs")
    base = tiny_llama(root / "base", 0)
    a, b = tiny_llama(root / "a", 1, base), tiny_llama(root / "b", 2, base)
    torch.manual_seed(5)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    peft_model = get_peft_model(LlamaForCausalLM.from_pretrained(a), config)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:  # PEFT starts B at zero: no delta
                p.normal_(0, 0.05)
    adapter = root / "adapter"
    peft_model.save_pretrained(adapter)
    merged = root / "peft-merged"
    peft_model.merge_and_unload().save_pretrained(merged)
    cache = root / "hub"
    hub_cache_entry(cache, "org/tiny-a", a)
    hub_cache_entry(cache, "org/tiny-lora", adapter)
    return {"base": base, "a": a, "b": b, "adapter": adapter, "merged": merged, "cache": cache}


@pytest.fixture
def offline_cache(models, monkeypatch):
    from huggingface_hub import constants

    cache = models["cache"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(cache.parent / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read when it is imported
    return cache


def _linear(tmp_path: Path, name: str, a: str, b: str, weights=(0.3, 0.7)) -> Path:
    config = {
        "merge_method": "linear",
        "models": [
            {"model": str(a), "parameters": {"weight": weights[0]}},
            {"model": str(b), "parameters": {"weight": weights[1]}},
        ],
        "dtype": "float32",
    }
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _merge(tmp_path: Path, name: str, a, b) -> dict[str, torch.Tensor]:
    out = tmp_path / name
    assert main(["merge", str(_linear(tmp_path, name, a, b)), str(out)]) == 0
    return load_file(out / "model.safetensors")


def _equal(got: dict, want: dict, atol: float = 0.0) -> None:
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert torch.allclose(got[k], want[k], atol=atol, rtol=0), k


def test_a_hub_id_is_read_from_the_hub_cache(tmp_path, models, offline_cache):
    want = _merge(tmp_path, "local", models["a"], models["b"])
    got = _merge(tmp_path, "hub", "org/tiny-a", models["b"])
    _equal(got, want)
    assert _merge(tmp_path, "at-commit", f"org/tiny-a@{COMMIT}", models["b"]).keys() == want.keys()
    out = tmp_path / "hub"
    # the side files are copied from the snapshot's links (as files, not links)
    assert (out / "config.json").is_file() and not (out / "config.json").is_symlink()
    card = json.loads((out / "merge.json").read_text())
    assert card["inputs"][0]["path"].endswith(f"snapshots/{COMMIT}")


def test_model_plus_adapter_equals_mergekit_and_the_peft_merge(tmp_path, models, offline_cache):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    ref = f"{models['a']}+{models['adapter']}"
    path = _linear(tmp_path, "adapted", ref, models["b"])
    theirs = tmp_path / "mergekit"
    run_merge(
        MergeConfiguration.model_validate(yaml.safe_load(path.read_text())),
        str(theirs),
        MergeOptions(copy_tokenizer=False, write_model_card=False, quiet=True,
                     lora_merge_cache=str(tmp_path / "lora-cache")),
    )  # fmt: skip
    want = load_file(theirs / "model.safetensors")
    ours = tmp_path / "ours"
    assert main(["merge", str(path), str(ours)]) == 0
    got = load_file(ours / "model.safetensors")
    _equal(got, want, atol=1e-6)
    # the adapter changed what it adapts: the merge is not that of a and b
    plain = _merge(tmp_path, "plain", models["a"], models["b"])
    name = "model.layers.0.self_attn.q_proj.weight"
    assert (got[name] - plain[name]).abs().max() > 1e-4
    assert torch.equal(got["model.layers.0.self_attn.k_proj.weight"],
                       plain["model.layers.0.self_attn.k_proj.weight"])  # fmt: skip
    # ... and equals merging the PEFT merge_and_unload folder
    _equal(got, _merge(tmp_path, "peft", models["merged"], models["b"]), atol=1e-6)
    # the adapter from the hub cache, onto the model from the hub cache: the same
    _equal(got, _merge(tmp_path, "hub", "org/tiny-a+org/tiny-lora", models["b"]))
    card = json.loads((ours / "merge.json").read_text())
    assert card["inputs"][0]["adapter"] == str(models["adapter"])
    assert "adapter_model.safetensors" in card["inputs"][0]["sha256"]


def test_stage_folders_are_references(tmp_path, models, offline_cache):
    from platypus.pipeline.manifest import write_manifest

    # a training folder: its manifest says so and its adapter is in adapter/
    train = tmp_path / "train"
    shutil.copytree(models["adapter"], train / "adapter")
    write_manifest(train, {"stage": "train", "config": {}})
    got = _merge(tmp_path, "from-train", f"{models['a']}+{train}", models["b"])
    _equal(got, _merge(tmp_path, "from-adapter", f"{models['a']}+{models['adapter']}",
                       models["b"]))  # fmt: skip
    from platypus.merge.references import reference_identity

    identities = {reference_identity(f"{models['a']}+{x}") for x in (train, models["adapter"])}
    assert len(identities) == 1 and reference_identity(str(models["a"])) not in identities
    # a previous merge's stage folder is a model
    first = tmp_path / "from-adapter"
    assert json.loads((first / "manifest.json").read_text())["stage"] == "merge"
    again = _merge(tmp_path, "again", first, models["b"])
    want = {k: 0.3 * v + 0.7 * load_file(models["b"] / "model.safetensors")[k]
            for k, v in got.items()}  # fmt: skip
    _equal(again, want, atol=1e-6)


def test_unknown_references_are_one_line(tmp_path, models, offline_cache, capsys):
    cases = {
        "nobody/no-such-model": "nobody/no-such-model is not in the hub cache",
        f"org/tiny-a@{'f' * 40}": "is not in the hub cache",
        f"{models['a']}+nobody/no-such-lora": "nobody/no-such-lora is not in the hub cache",
        f"{models['a']}+{tmp_path / 'missing'}": "no such folder",
        str(tmp_path / "missing-model"): "not a local model folder",
        f"{models['a']}+x+y": "not MODEL or MODEL+ADAPTER",
    }
    for ref, expected in cases.items():
        out = tmp_path / "out"
        code = main(["merge", str(_linear(tmp_path, "bad", ref, models["b"])), str(out)])
        errors = error_lines(capsys.readouterr().err)
        assert code == 2 and len(errors) == 1, (ref, errors)
        assert expected in errors[0] and ref in errors[0], (ref, errors)
        assert not (out / "model.safetensors").exists()


def test_an_adapter_for_another_model_is_one_line(tmp_path, models, offline_cache, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    # the same tensor names, other shapes: a Llama of another width
    other = LlamaConfig(vocab_size=256, num_hidden_layers=2, hidden_size=32,
                        intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                        tie_word_embeddings=False)  # fmt: skip
    LlamaForCausalLM(other).save_pretrained(tmp_path / "narrow")
    capsys.readouterr()  # transformers' save bar
    ref = f"{tmp_path / 'narrow'}+{models['adapter']}"
    code = main(["merge", str(_linear(tmp_path, "misfit", ref, tmp_path / "narrow")),
                 str(tmp_path / "out")])  # fmt: skip
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1, errors
    assert ref in errors[0] and "does not fit the model" in errors[0], errors


def test_extract_lora_takes_a_hub_id_base(tmp_path, models, offline_cache):
    """extract-lora (like the adapter merges, which open their base and target the same way)
    reads a hub cache snapshot's links into its blobs as the model's files, as the tensor
    merges do; it refused them as links out of the folder."""
    from platypus.config import MergeConfig
    from platypus.merge.run import merge

    local = tmp_path / "local"
    merge(
        MergeConfig(
            method="extract-lora",
            base_model=str(models["a"]),
            models=[{"model": str(models["b"])}],
            rank=2,
            output_dir=str(local),
        )
    )
    hub = tmp_path / "hub"
    merge(
        MergeConfig(
            method="extract-lora",
            base_model="org/tiny-a",
            models=[{"model": str(models["b"])}],
            rank=2,
            output_dir=str(hub),
        )
    )
    _equal(load_file(hub / "adapter_model.safetensors"),
           load_file(local / "adapter_model.safetensors"))  # fmt: skip
