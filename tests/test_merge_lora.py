"""LoRA merging as PEFT resolves it: per-module ranks and alphas, rsLoRA, embedding LoRA,
and one-line refusals of what cannot be merged as a weight delta."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_merge import tiny_llama

from platypus.cli import main
from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.merge.lora import load_adapter
from platypus.merge.run import merge

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tiny_llama(tmp_path_factory.mktemp("lora-base") / "base", 0)


def _peft_adapter(base, folder, **lora):
    """A random (non-zero B) PEFT LoRA on the tiny Llama, saved; returns (folder, peft model)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(init_lora_weights=False, **lora))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.mul_(0.5)
    peft_model.save_pretrained(folder)
    return folder, peft_model


def _assert_merge_equals_peft(tmp_path, base, adapter, peft_model, capsys):
    out = tmp_path / "merged"
    code = main(["merge", "--adapter", str(adapter), "--base-model", str(base),
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    want = {k: v.detach() for k, v in peft_model.merge_and_unload().state_dict().items()}
    got = load_file(out / "model.safetensors")
    original = load_file(base / "model.safetensors")
    assert got.keys() == want.keys()
    changed = 0
    for k in want:
        gap = (got[k] - want[k]).abs().max()
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=0), (k, gap)
        changed += not torch.equal(got[k], original[k])
    return json.loads((out / "merge.json").read_text()), changed


def test_rank_and_alpha_patterns_and_embedding_lora_match_peft(tmp_path, base, capsys):
    # Patterns as PEFT matches them: a bare module name matches it in every layer, a longer
    # suffix only where it fits, and the first matching key wins.
    adapter, peft_model = _peft_adapter(
        base,
        tmp_path / "adapter",
        r=4,
        lora_alpha=8,
        target_modules=[*TARGETS, "embed_tokens"],
        rank_pattern={"q_proj": 2, "layers.1.mlp.down_proj": 6, "embed_tokens": 3},
        alpha_pattern={"v_proj": 3, r"layers\.0\.self_attn\.o_proj": 20, "embed_tokens": 5},
    )
    loaded = load_adapter(adapter)
    scales = {n: m.scale for n, m in loaded.modules.items()}
    assert scales["model.layers.0.self_attn.q_proj.weight"] == 8 / 2
    assert scales["model.layers.1.self_attn.v_proj.weight"] == 3 / 4
    assert scales["model.layers.0.self_attn.o_proj.weight"] == 20 / 4
    assert scales["model.layers.1.self_attn.o_proj.weight"] == 8 / 4
    assert scales["model.layers.1.mlp.down_proj.weight"] == 8 / 6
    assert scales["model.layers.0.mlp.down_proj.weight"] == 8 / 4
    assert scales["model.embed_tokens.weight"] == 5 / 3
    card, changed = _assert_merge_equals_peft(tmp_path, base, adapter, peft_model, capsys)
    assert changed == 2 * len(TARGETS) + 1  # every adapted weight, the embedding included
    assert card["adapter"]["modules"] == changed
    assert card["adapter"]["ranks"] == [2, 3, 4, 6] and card["adapter"]["scales"]["max"] == 5.0


def test_rslora_matches_peft(tmp_path, base, capsys):
    adapter, peft_model = _peft_adapter(
        base,
        tmp_path / "adapter",
        r=8,
        lora_alpha=4,
        use_rslora=True,
        target_modules=TARGETS,
        rank_pattern={"up_proj": 2},
    )
    scales = {n: m.scale for n, m in load_adapter(adapter).modules.items()}
    assert scales["model.layers.0.self_attn.k_proj.weight"] == pytest.approx(4 / 8**0.5)
    assert scales["model.layers.1.mlp.up_proj.weight"] == pytest.approx(4 / 2**0.5)
    _, changed = _assert_merge_equals_peft(tmp_path, base, adapter, peft_model, capsys)
    assert changed == 2 * len(TARGETS)


def test_lora_bias_matches_peft(tmp_path, capsys):
    """lora_bias: lora_B has a bias, added (scaled) to the layer's own (Qwen2's q/k/v)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    sizes = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
    config = Qwen2Config(vocab_size=256, num_attention_heads=4, num_key_value_heads=2, **sizes)
    base = tmp_path / "qwen"
    Qwen2ForCausalLM(config).save_pretrained(base)
    adapter, peft_model = _peft_adapter(
        base, tmp_path / "adapter", r=4, lora_alpha=8, lora_bias=True,
        target_modules=["q_proj", "k_proj", "v_proj"], rank_pattern={"v_proj": 2},
    )  # fmt: skip
    card, changed = _assert_merge_equals_peft(tmp_path, base, adapter, peft_model, capsys)
    assert changed == 2 * 3 * 2  # weights and biases of q, k, v in both layers
    assert len(card["adapter"]["biases"]) == 6


def test_embedding_lora_on_a_resized_vocabulary_is_refused(tmp_path, base):
    """PEFT saves the adapted embedding's own weights beside its LoRA: where they differ from
    the base's (a resized or retrained vocabulary), adding the delta to the base is wrong."""
    adapter, _ = _peft_adapter(
        base, tmp_path / "adapter", r=2, lora_alpha=2, target_modules=["q_proj", "embed_tokens"]
    )
    weights = adapter / "adapter_model.safetensors"
    tensors = load_file(weights)
    key = "base_model.model.model.embed_tokens.base_layer.weight"
    tensors[key] = tensors[key] + 1
    save_file(tensors, weights)
    config = MergeConfig(adapter=str(adapter), base_model=str(base), output_dir=str(tmp_path / "o"))
    with pytest.raises(PlatypusError, match="its own copy of model.embed_tokens.weight"):
        merge(config)


def _refused(tmp_path, base, adapter, capsys) -> str:
    capsys.readouterr()
    code = main(["merge", "--adapter", str(adapter), "--base-model", str(base),
                 "--output-dir", str(tmp_path / "no")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert not (tmp_path / "no" / "model.safetensors").exists()
    return err


def test_unsupported_adapters_are_refused_in_one_line(tmp_path, base, capsys):
    dora, _ = _peft_adapter(base, tmp_path / "dora", r=2, target_modules=TARGETS, use_dora=True)
    assert "use_dora" in _refused(tmp_path, base, dora, capsys)
    # lora_bias: lora_B's bias adds to the layer's bias, which Llama's q_proj lacks.
    bias, _ = _peft_adapter(base, tmp_path / "bias", r=2, target_modules=["q_proj"])
    weights = bias / "adapter_model.safetensors"
    key = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias"
    save_file(load_file(weights) | {key: torch.ones(64)}, weights)
    err = _refused(tmp_path, base, bias, capsys)
    assert "has a bias (lora_bias)" in err and "model.layers.0.self_attn.q_proj.bias" in err
    # PEFT's LoRA variants, read from its own LoraConfig metadata.
    config = json.loads((bias / "adapter_config.json").read_text())
    (bias / "adapter_config.json").write_text(json.dumps(config | {"init_lora_weights": "mica"}))
    assert "init_lora_weights=mica" in _refused(tmp_path, base, bias, capsys)
    # A tensor that is no LoRA factor (here: a trained bias saved with `bias: all`).
    extra, _ = _peft_adapter(base, tmp_path / "extra", r=2, target_modules=["q_proj"])
    weights = extra / "adapter_model.safetensors"
    save_file(load_file(weights) | {"base_model.model.lm_head.bias": torch.zeros(256)}, weights)
    err = _refused(tmp_path, base, extra, capsys)
    assert "lm_head.bias" in err and "not a LoRA factor" in err
    # A pair whose ranks disagree (a damaged file) is not multiplied.
    torn, _ = _peft_adapter(base, tmp_path / "torn", r=2, target_modules=["q_proj"])
    weights = torn / "adapter_model.safetensors"
    tensors = load_file(weights)
    key = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    tensors[key] = torch.zeros(3, 64)
    save_file(tensors, weights)
    assert "rank" in _refused(tmp_path, base, torn, capsys)
