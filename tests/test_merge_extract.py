"""extract-lora: a PEFT LoRA recovered from (fine-tune - base) by truncated SVD."""

import json

import pytest
import torch
from safetensors.torch import load_file
from test_merge import tiny_llama
from test_merge_lora import TARGETS, _peft_adapter

from platypus.cli import main
from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.merge.run import merge


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A tiny Llama, a random rank-4 LoRA on every linear layer but lm_head, and the
    fine-tune it makes (base + delta), saved as a model folder."""
    root = tmp_path_factory.mktemp("extract")
    base = tiny_llama(root / "base", 0)
    adapter, peft_model = _peft_adapter(base, root / "adapter", r=4, lora_alpha=8,
                                        target_modules=TARGETS)  # fmt: skip
    tuned = root / "tuned"
    peft_model.merge_and_unload().save_pretrained(tuned)
    return base, adapter, tuned


def _extract(base, tuned, out, rank, **extra) -> dict:
    config = MergeConfig(method="extract-lora", base_model=str(base), rank=rank,
                         models=[{"model": str(tuned)}], output_dir=str(out), **extra)  # fmt: skip
    return merge(config).card


def _deltas_through_peft(base, adapter) -> dict[str, torch.Tensor]:
    """Weight changes the adapter makes, as PEFT loads and merges it."""
    from peft import PeftModel
    from transformers import LlamaForCausalLM

    model = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(base), adapter)
    merged = model.merge_and_unload().state_dict()
    original = load_file(base / "model.safetensors")
    return {k: merged[k] - original[k] for k in original}


def test_full_rank_extraction_recovers_the_lora(tmp_path, pair):
    base, _, tuned = pair
    out = tmp_path / "x4"
    card = _extract(base, tuned, out, rank=4)
    x = card["extraction"]
    assert x["modules"] == 2 * len(TARGETS) and x["not_extracted"] == []
    assert x["energy_kept"]["min"] > 1 - 1e-6  # rank 4 carries all of a rank-4 delta
    # PEFT loads the folder, and its deltas are the fine-tune's.
    got = _deltas_through_peft(base, out)
    want_w, base_w = load_file(tuned / "model.safetensors"), load_file(base / "model.safetensors")
    changed = 0
    for k, d in got.items():
        want = want_w[k] - base_w[k]
        assert torch.allclose(d, want, atol=2e-6), (k, (d - want).abs().max())
        changed += bool(want.abs().max() > 0)
    assert changed == 2 * len(TARGETS)
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and cfg["lora_alpha"] == 4 and cfg["peft_type"] == "LORA"
    assert "## LoRA extraction" in (out / "README.md").read_text()
    assert not (out / "config.json").exists()  # an adapter folder, not a model folder


def test_truncated_extraction_meets_the_svd_bound(tmp_path, pair):
    base, _, tuned = pair
    card = _extract(base, tuned, tmp_path / "x2", rank=2, target_modules=["q_proj", "down_proj"])
    x = card["extraction"]
    assert x["modules"] == 4 and {m.rsplit(".", 1)[1] for m in x["per_module"]} == {
        "q_proj", "down_proj"
    }  # fmt: skip
    assert len(x["not_extracted"]) == 2 * len(TARGETS) - 4
    got = _deltas_through_peft(base, tmp_path / "x2")
    want_w, base_w = load_file(tuned / "model.safetensors"), load_file(base / "model.safetensors")
    for module, stats in x["per_module"].items():
        k = module + ".weight"
        true = want_w[k].double() - base_w[k].double()
        s = torch.linalg.svdvals(true)
        bound = float(s[2:].pow(2).sum().sqrt())  # Eckart-Young: the best rank-2 error
        error = float((got[k].double() - true).norm())
        assert error == pytest.approx(bound, rel=1e-3, abs=1e-6), module
        assert bound > 1e-3  # the truncation does drop something
        energy = float(s[:2].pow(2).sum() / s.pow(2).sum())
        assert stats["energy_kept"] == pytest.approx(energy, rel=1e-5) and stats["rank"] == 2


def test_rank_above_a_weights_size_and_errors(tmp_path, pair, capsys):
    base, _, tuned = pair
    # k_proj is 32 x 64: rank 40 is capped at 32 for it, and PEFT reads that from rank_pattern.
    card = _extract(base, tuned, tmp_path / "x40", rank=40, target_modules=["k_proj", "o_proj"])
    ranks = {m.rsplit(".", 1)[1]: v["rank"] for m, v in card["extraction"]["per_module"].items()}
    assert ranks == {"k_proj": 32, "o_proj": 40}
    got = _deltas_through_peft(base, tmp_path / "x40")
    want_w, base_w = load_file(tuned / "model.safetensors"), load_file(base / "model.safetensors")
    k = "model.layers.1.self_attn.k_proj.weight"
    assert torch.allclose(got[k], want_w[k] - base_w[k], atol=2e-6)
    # Our adapter merge reads the same per-module ranks back and lands on the fine-tune.
    merged = tmp_path / "back"
    merge(MergeConfig(adapter=str(tmp_path / "x40"), base_model=str(base), output_dir=str(merged)))
    back = load_file(merged / "model.safetensors")
    for name in (k, "model.layers.0.self_attn.o_proj.weight"):
        assert torch.allclose(back[name], want_w[name], atol=2e-6), name
    with pytest.raises(PlatypusError, match="match no linear module"):
        _extract(base, tuned, tmp_path / "no", rank=2, target_modules=["nope"])
    with pytest.raises(PlatypusError, match="no extracted module differs"):
        _extract(base, base, tmp_path / "same", rank=2)
    capsys.readouterr()
    code = main(["merge", "--method", "extract-lora", "--base-model", str(base),
                 "--output-dir", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "needs `models`" in err and err.count("\n") == 1, err
